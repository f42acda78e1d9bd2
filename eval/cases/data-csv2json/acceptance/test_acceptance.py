"""Acceptance tests for `python -m csv2json`, written from the requirement alone."""

import json
import subprocess
import sys
from pathlib import Path


def csv2json(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "csv2json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


def write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def test_rows_become_objects_with_typed_values(tmp_path: Path) -> None:
    write(
        tmp_path / "in.csv", "name,qty,price,active,note\nbolt,3,0.25,TRUE,\nnut,-2,1e3,false,x\n"
    )
    result = csv2json("in.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"name": "bolt", "qty": 3, "price": 0.25, "active": True, "note": None},
        {"name": "nut", "qty": -2, "price": 1000.0, "active": False, "note": "x"},
    ]


def test_types_are_exact(tmp_path: Path) -> None:
    write(tmp_path / "in.csv", "a,b,c,d\n+7,3.0,  12  ,1.2.3\n")
    row = json.loads(csv2json("in.csv", cwd=tmp_path).stdout)[0]
    assert row == {"a": 7, "b": 3.0, "c": 12, "d": "1.2.3"}
    assert type(row["a"]) is int and type(row["b"]) is float and type(row["c"]) is int


def test_header_cells_become_snake_case_keys_in_column_order(tmp_path: Path) -> None:
    write(tmp_path / "in.csv", " Unit Price ,Item-Name,Total  Cost,ID\n1,a,2,3\n")
    rows = json.loads(csv2json("in.csv", cwd=tmp_path).stdout)
    assert list(rows[0]) == ["unit_price", "item_name", "total_cost", "id"]


def test_output_option_writes_an_indented_file(tmp_path: Path) -> None:
    write(tmp_path / "in.csv", 'city,pop\nZürich,"421,878"\n')
    result = csv2json("in.csv", "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert json.loads(text) == [{"city": "Zürich", "pop": "421,878"}]
    assert "\n  {" in text
    assert result.stdout.strip() == ""


def test_custom_delimiter_and_byte_order_mark(tmp_path: Path) -> None:
    write(tmp_path / "in.csv", "\ufeffid;label\n1;one\n2;two\n")
    result = csv2json("in.csv", "--delimiter", ";", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"id": 1, "label": "one"}, {"id": 2, "label": "two"}]


def test_empty_lines_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "in.csv", "a,b\n1,2\n\n3,4\n\n")
    assert json.loads(csv2json("in.csv", cwd=tmp_path).stdout) == [
        {"a": 1, "b": 2},
        {"a": 3, "b": 4},
    ]


def test_a_ragged_row_exits_1_and_names_its_line(tmp_path: Path) -> None:
    write(tmp_path / "in.csv", "a,b,c\n1,2,3\n4,5\n")
    result = csv2json("in.csv", "-o", "out.json", cwd=tmp_path)
    assert result.returncode == 1
    assert "csv2json: line 3: expected 3 fields, got 2" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_a_missing_input_exits_1(tmp_path: Path) -> None:
    result = csv2json("nope.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr
