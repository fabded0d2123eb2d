"""The alert rules: one module per kind (see contract.py), listed in registry.py."""
