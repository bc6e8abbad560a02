"""The timer value-lock model's properties and witnesses (``spec/timer_lock``)."""
