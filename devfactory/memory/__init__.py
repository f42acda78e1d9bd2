"""Layered memory behind one service (``service.py``), called at stage boundaries.

* Live team memory (``live.py``): pgvector banks per team, per project and the
  shared world, recalled before each stage and retained after it.
* Team facts (``facts.py``): mem0 extracts and dedups each passed stage's facts.
* Audit memory (``audit.py``): an append-only, hash-chained log of every event.
* Context packing (``packing.py``): a stage's context within the model's budget.
"""
