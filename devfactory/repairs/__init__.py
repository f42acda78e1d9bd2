"""The mechanical repairs of model output: one registry (``registry.py``), long ones beside it."""
