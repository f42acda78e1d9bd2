"""Building software that runs: the build plan, the git workspace, the sandbox, the validator."""
