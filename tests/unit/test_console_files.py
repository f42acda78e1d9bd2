"""The console's list of a run's files says what the listing left out, as the API counts it.

The function is the console's own (``console.js``), run by the node that Playwright ships.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import playwright
import pytest

CONSOLE_JS = (
    Path(__file__).resolve().parents[2] / "devfactory" / "api" / "console_static" / "console.js"
)
NODE = Path(playwright.__file__).parent / "driver" / "node"


def left_out_line(found: dict[str, object]) -> str:
    source = CONSOLE_JS.read_text()
    function = re.search(r"^function filesLeftOut\(found\) \{.*?^\}$", source, re.S | re.M)
    assert function, "console.js has no filesLeftOut"
    script = f"{function.group(0)}\nprocess.stdout.write(filesLeftOut({json.dumps(found)}));"
    return subprocess.run(
        [str(NODE), "-e", script], capture_output=True, text=True, check=True, timeout=30
    ).stdout


NOTHING = {"deep_folders": 0, "not_regular": 0, "unsafe_names": 0}


@pytest.mark.parametrize(
    ("more", "left_out", "said"),
    [
        (False, {**NOTHING, "deep_folders": 1}, "not listed: 1 folder too deep to enter"),
        (
            False,
            {**NOTHING, "unsafe_names": 2},
            "not listed: 2 files whose name holds a control or invisible character (not served)",
        ),
        (
            True,
            {**NOTHING, "not_regular": 1, "deep_folders": 3},
            "not listed: more files than the listing's cap; 3 folders too deep to enter; "
            "1 link, FIFO or device (not served)",
        ),
        (False, NOTHING, ""),
    ],
)
def test_the_console_says_what_a_run_s_file_listing_left_out(
    more: bool, left_out: dict[str, int], said: str
) -> None:
    """Issue 58 item 13 (c): a file too deep to list is said under the files, not dropped."""
    assert left_out_line({"files": [], "more": more, "left_out": left_out}) == said
