from pathlib import Path

from wordcount import Counts, count, main


def test_count_lines_words_bytes() -> None:
    assert count(b"a b\nc\n") == Counts(2, 3, 6)


def test_main_prints_total_for_two_files(tmp_path: Path, capsys) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("x\n")
    two.write_text("y z\n")
    assert main([str(one), str(two)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 3 6 total"
