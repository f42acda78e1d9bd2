"""The evaluation: what the factory builds, measured against acceptance tests it never sees.

Each case under ``eval/cases/<id>/`` holds a requirement, hidden acceptance tests
written from the requirement alone, and a hand-written reference solution that
proves those tests can be met. ``python -m eval.run`` (``make eval``) runs the
factory on every requirement and measures the result; ``--baseline single-call``
measures the same model asked once per case, ``--with-baseline`` both side by side,
and ``--split dev|holdout`` picks the cases; ``--reference`` runs the same
measurement on the references, as the harness's self-test.
"""
