"""The largest caps anyone may set on a run's spend.

Far beyond any real run, well inside what Postgres, JSON and the
checkpointer's serialisation represent exactly. A module of its own, with no
imports: the CLI's options read them before anything else is loaded.
"""

MAX_TOKENS = 10**12
MAX_COST_USD = 10.0**9
MAX_SECONDS = 10.0**9
MAX_RUN_DEADLINE_S = 7 * 86_400  # a drive's wall-clock time cap: a week
MAX_REQUIREMENT_CHARS = 100_000  # a requirement given to the API or the CLI (argument, stdin, file)
MAX_ANSWER_CHARS = 8000  # a person's answer to a pause, a modified requirement among them
MAX_PROJECT_CHARS = 120  # a project's name, given to the API or the CLI (and filtered on)
