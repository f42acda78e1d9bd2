"""devfactory: a self-hosted AI software factory built on LangGraph."""

__version__ = "0.1.0"
