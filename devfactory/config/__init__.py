"""Packaged configuration files (model aliases)."""
