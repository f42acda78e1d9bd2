from hexpeek import dump_lines


def test_a_short_last_line_is_padded() -> None:
    assert dump_lines(b"Hi\n", 4) == ["00000000  48 69 0a     Hi."]


def test_offsets_count_in_hexadecimal() -> None:
    lines = dump_lines(bytes(40))
    assert [line[:8] for line in lines] == ["00000000", "00000010", "00000020"]


def test_nothing_for_no_bytes() -> None:
    assert dump_lines(b"") == []
