"""The sandbox that runs generated code: isolation, limits, environments and commands.

``runner.Sandbox`` is the door every command goes through (``docs/sandbox.md``
is the threat model); ``isolation`` builds the bubblewrap command line,
``launcher`` starts it (cgroup, rlimits, the disk layer), ``jail`` holds the
cgroups, ``seccomp`` the system-call filter, ``limits`` the bounds, ``installer``
and ``environments`` the dependency environments, ``untrusted`` and
``ownership`` what the host does with what the code wrote, ``results`` and
``junit`` how a command's outcome is read, ``drivers/`` the scripts run inside.
It knows nothing of plans, runs or teams (``devfactory.software`` calls it).
"""
