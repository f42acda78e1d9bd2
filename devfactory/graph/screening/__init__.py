"""The governance screen: what a text means (check.py), its classifier, its training, the scope."""
