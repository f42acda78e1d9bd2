"""A stage's model I/O: the prompts it sends (briefs), its files and report read back."""
