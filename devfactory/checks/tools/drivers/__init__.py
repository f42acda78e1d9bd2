"""The scripts the tool checks run in the sandbox (``Sandbox.run_driver``), with the tools.

Each is run as ``python -I -B SCRIPT WORKSPACE REPORT ARGS...`` inside the sandbox, reads the
workspace copy it is given and writes its findings as JSON to REPORT; the factory's own
code imports none of them.
"""
