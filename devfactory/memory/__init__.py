"""Layered memory (live pgvector banks, mem0 facts, immutable audit log).

Reserved for the memory service; the graph will call it at stage boundaries.
"""
