"""The bpf_spin_lock model's properties and witnesses (``spec/spin_lock``)."""
