"""The REST API (FastAPI). It may import the runner and graph, never ``chainlit``."""
