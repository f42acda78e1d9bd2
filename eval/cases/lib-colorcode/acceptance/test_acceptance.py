"""Acceptance tests for the colorcode module, written from the requirement alone."""

import pytest
from colorcode import hex_to_rgb, mix, rgb_to_hex


@pytest.mark.parametrize(
    ("code", "rgb"),
    [
        ("#ff8800", (255, 136, 0)),
        ("#FF8800", (255, 136, 0)),
        ("#000000", (0, 0, 0)),
        ("#f80", (255, 136, 0)),
        ("#ABC", (170, 187, 204)),
    ],
)
def test_hex_to_rgb_reads_six_and_three_digit_codes(code: str, rgb: tuple) -> None:
    result = hex_to_rgb(code)
    assert result == rgb
    assert isinstance(result, tuple)


@pytest.mark.parametrize("code", ["ff8800", "#ff880", "#gg0000", "#ff88001"])
def test_hex_to_rgb_refuses_other_text(code: str) -> None:
    with pytest.raises(ValueError):
        hex_to_rgb(code)


@pytest.mark.parametrize(
    ("rgb", "code"),
    [((255, 136, 0), "#ff8800"), ((0, 0, 0), "#000000"), ((10, 171, 255), "#0aabff")],
)
def test_rgb_to_hex_gives_six_lower_case_digits(rgb: tuple, code: str) -> None:
    assert rgb_to_hex(*rgb) == code


@pytest.mark.parametrize("rgb", [(256, 0, 0), (0, -1, 0)])
def test_rgb_to_hex_refuses_numbers_out_of_range(rgb: tuple) -> None:
    with pytest.raises(ValueError):
        rgb_to_hex(*rgb)


def test_mix_blends_by_the_weight() -> None:
    assert mix("#ff0000", "#0000ff") == "#800080"
    assert mix("#000000", "#646464", 0.25) == "#191919"
    assert mix("#102030", "#f80", 0) == "#102030"
    assert mix("#102030", "#f80", 1) == "#ff8800"


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_mix_refuses_a_weight_outside_0_to_1(weight: float) -> None:
    with pytest.raises(ValueError):
        mix("#000000", "#ffffff", weight)
