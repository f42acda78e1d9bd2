import io

import pytest
from mdtable import TableError, read_rows, render


def test_render_right_aligned_column() -> None:
    assert render([["n", "qty"], ["a", "3"]], "lr").splitlines()[1] == "| :-- | --: |"


def test_short_rows_are_padded() -> None:
    assert read_rows(io.StringIO("a,b\n1\n")) == [["a", "b"], ["1", ""]]


def test_too_many_cells() -> None:
    with pytest.raises(TableError, match="line 2"):
        read_rows(io.StringIO("a\n1,2\n"))
