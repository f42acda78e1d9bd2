"""The checks that judge a run's work: code (code/), artifacts (artifact.py), tools (tools/)."""
