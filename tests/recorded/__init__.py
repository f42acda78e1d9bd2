"""A recorded run of the embedded model, replayed to show that a change kept behaviour.

``record.py`` runs one dev case of the evaluation through the real pipeline with
the embedded model and keeps every model call (prompt and reply), the files the
run wrote and its final status in ``tests/data/recorded_run/``;
``tests/integration/test_recorded_run.py`` runs the same case with a model that
answers each call with the recorded reply and holds the prompts, the files and
the status to the recording.
"""
