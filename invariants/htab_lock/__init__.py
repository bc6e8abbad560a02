"""The bucket-lock model's properties and witnesses (``spec/htab_lock``)."""
