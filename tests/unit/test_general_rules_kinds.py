"""The rules of the kinds of software, the skeleton toolkit, the probes and the plan's names.

Each on sentences of its own that no eval case has (see ``test_general_rules.py``).
"""
