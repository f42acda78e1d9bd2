import pytest
from envfile import EnvSyntaxError, parse


def test_export_prefix_and_quotes() -> None:
    assert parse("export A='x'\nB=\"${A}y\"\n") == {"A": "x", "B": "xy"}


def test_inline_comment() -> None:
    assert parse("A=1 # one\n") == {"A": "1"}


def test_error_carries_the_line() -> None:
    with pytest.raises(EnvSyntaxError) as caught:
        parse("\nnope\n")
    assert caught.value.line == 2
