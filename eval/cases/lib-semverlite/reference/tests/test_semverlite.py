from semverlite import Version, bump, compare, parse


def test_parse() -> None:
    assert parse("1.2.3-rc.1") == Version(1, 2, 3, ("rc", "1"))


def test_compare_prerelease_lower() -> None:
    assert compare("1.0.0-alpha", "1.0.0") == -1


def test_bump() -> None:
    assert bump("1.2.3", "minor") == "1.3.0"
