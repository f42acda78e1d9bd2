"""Put the project under test first on the import path, for pytest and its subprocesses.

The evaluation copies this file as ``conftest.py`` beside a case's acceptance
tests, in a folder of the project's copy. Tests of command-line programs start
``python -m <module>`` in subprocesses, which find the project through
``PYTHONPATH``. The project's own ``conftest.py`` and pytest settings are never
loaded: the acceptance run names its own ini file and conftest boundary.
"""

import os
import sys
from pathlib import Path

_PROJECT = Path(__file__).resolve().parent.parent
_PATHS = [str(path) for path in (_PROJECT, _PROJECT / "src") if path.is_dir()]

sys.path[:0] = [path for path in _PATHS if path not in sys.path]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [*_PATHS, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)
