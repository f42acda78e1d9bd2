from colorcode import hex_to_rgb, mix, rgb_to_hex


def test_codes_round_trip() -> None:
    assert rgb_to_hex(*hex_to_rgb("#1A2b3C")) == "#1a2b3c"


def test_mixing_a_colour_with_itself_keeps_it() -> None:
    assert mix("#abcdef", "#abcdef", 0.3) == "#abcdef"
