from logstats import summarise

LINE = '1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET /a?x=1 HTTP/1.1" 200 10\n'


def test_counts_one_line() -> None:
    summary = summarise([LINE, "junk\n"])
    assert summary["requests"] == 1
    assert summary["malformed"] == 1
    assert summary["top_paths"] == [["/a", 1]]
