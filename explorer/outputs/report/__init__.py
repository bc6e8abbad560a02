"""The design-review report, from the saved results."""
