"""Scripts the sandbox runs with a project's own Python (standard library only)."""
