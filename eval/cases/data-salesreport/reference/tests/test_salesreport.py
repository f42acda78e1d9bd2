import io

from salesreport import aggregate

SALES = "date,region,product,quantity,unit_price\n2024-01-02,north,tea,1,0.125\n"


def test_rounds_half_up() -> None:
    rows = aggregate(io.StringIO(SALES), "region")
    assert rows[1] == ["north", "1", "1", "0.13"]
    assert rows[-1] == ["TOTAL", "1", "1", "0.13"]
