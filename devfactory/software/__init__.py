"""What a run builds and how it is judged: the build plan, the code checks, the git workspace.

``plan`` says what to build (kind, interface, files and their owners, the test
command, the entry point); ``checks`` runs the objective checks on what was
written, in the sandbox (``devfactory.sandbox``); ``workspace`` keeps the run's
folder as a git repository. Nothing here imports the graph, memory, teams,
models, the database or an entry point: the graph calls it.
"""
