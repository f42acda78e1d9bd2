"""The run service: ``Factory`` (``facade.py``) and the services it composes.

Every entry point (CLI, chat, API, workers) opens a ``Factory``, which starts,
drives, records, answers and reads runs; the operator's controls and incidents
are here too. Nothing is imported here, so a light reader (``reads.py``,
``reports.py``) stays light.
"""
