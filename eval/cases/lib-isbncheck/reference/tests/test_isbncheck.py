from isbncheck import is_valid, to_isbn13


def test_a_converted_number_is_valid() -> None:
    assert is_valid(to_isbn13("0-19-852663-6"))


def test_lower_case_x_is_not_a_check_character() -> None:
    assert not is_valid("080442957x")
