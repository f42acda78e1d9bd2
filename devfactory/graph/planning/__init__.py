"""Planning a run: the requirement read once (reading.py), the plan pre-filled, asked, checked."""
