"""Each secret shape the second review found passing through, and text that must stay as it is."""

from __future__ import annotations

import pytest

from devfactory.redact import redact

STRIPE = "sk_live_51HqLyjWDarjtT1zdp7dc" + "x7Fh2kLq9" * 8
SHAPES = {
    "aws secret, unquoted": ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "aws secret, in yaml": ("aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE",
                            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE"),
    "client_secret": ("client_secret=9f8e7d6c5b4a39281706f5e4", "9f8e7d6c5b4a39281706f5e4"),
    "client_secret in json": ('{"client_secret": "Zx81-aa92_kkQQ"}', "Zx81-aa92_kkQQ"),
    "stripe live key": (f"STRIPE={STRIPE}", STRIPE[12:]),
    "stripe restricted": ("rk_live_" + "Ab3dEf6hIj9kLm2nOp5qRs8t", "Ab3dEf6hIj9kLm2nOp5qRs8t"),
    "gitlab token": ("glpat-xY7zA1bC2dE3fG4hI5jK", "xY7zA1bC2dE3fG4hI5jK"),
    "sendgrid key": ("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",
                     "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
    "azure account key": ("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
                          + "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq"
                          + "/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
                          "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq"),
    "basic auth header": ("Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
                          "YWxhZGRpbjpvcGVuc2VzYW1l"),
    "devfactory api key": ("dfk_3fa9c2e81b07_" + "q2W_e4R-t6Y8u0I2o4P6a8S0d2F4g6H8j0K2l4Z6x8C",
                           "q2W_e4R-t6Y8u0I2o4P6a8S0d2F4g6H8j0K2l4Z6x8C"),
    "npm token (maintained set)": ("//registry.npmjs.org/:_authToken=npm_" + "a" * 36, "a" * 36),
    "pypi token (maintained set)": ("pypi-AgEIcHlwaS5vcmc" + "B" * 80, "B" * 80),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_secret_shape_is_redacted(shape: str) -> None:
    text, secret = SHAPES[shape]
    redacted = redact(f"config line: {text} (end)")
    assert secret not in redacted, redacted
    assert "[REDACTED:" in redacted and redacted.endswith("(end)")


@pytest.mark.parametrize(
    "text",
    [
        "def token(): return make_token(user)",
        "password_hash = hash_password(password)",
        "secret_santa = pick(people)",
        "The client_secret is read from the environment.",
        "Use a basic setup with a token bucket of 10",
        "AccountKey is configured in the portal",
    ],
)
def test_ordinary_code_and_prose_stay_as_written(text: str) -> None:
    assert redact(text) == text
