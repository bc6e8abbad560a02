"""The NMI prog-put model's properties and witnesses (``spec/nmi_put``)."""
