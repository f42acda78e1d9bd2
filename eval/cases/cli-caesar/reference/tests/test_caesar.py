from caesar import shift_text


def test_shifting_back_undoes_a_shift() -> None:
    assert shift_text(shift_text("Mixed Case, 42!", 7), -7) == "Mixed Case, 42!"


def test_letters_wrap_around() -> None:
    assert shift_text("xyz XYZ", 3) == "abc ABC"
