"""The finished runs' details an API process keeps: what is kept, when it is forgotten, the caps."""

from __future__ import annotations

import pytest

from devfactory.api.finished import FinishedRuns, Rendered
from devfactory.settings import Settings


def rendered(run_id: str, *, finished: bool = True) -> Rendered:
    return Rendered(
        run_id=run_id, owner="ann", body=f'{{"run_id":"{run_id}"}}'.encode(), finished=finished
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def hearing(capacity: int = 4, max_age_s: float = 60.0, clock: Clock | None = None) -> FinishedRuns:
    kept = FinishedRuns(capacity, max_age_s, now=clock or Clock())
    kept.hearing(True)
    return kept


def test_a_finished_run_is_kept_and_served_until_its_change_is_heard() -> None:
    kept = hearing()
    assert kept.keep(rendered("a"), kept.epoch)
    assert kept.get("a") == rendered("a")
    kept.changed("b")
    assert kept.get("a") == rendered("a")  # another run's change
    kept.changed("a")
    assert kept.get("a") is None


def test_a_running_run_is_never_kept() -> None:
    kept = hearing()
    assert not kept.keep(rendered("a", finished=False), kept.epoch)
    assert kept.get("a") is None


def test_a_rendering_read_while_a_change_was_heard_is_not_kept() -> None:
    kept = hearing()
    since = kept.epoch
    kept.changed("someone-else")  # heard between the read's start and its end
    assert not kept.keep(rendered("a"), since)
    assert kept.get("a") is None
    assert kept.keep(rendered("a"), kept.epoch)


def test_nothing_is_kept_or_served_while_unheard_and_all_is_forgotten_on_return() -> None:
    kept = FinishedRuns(4, 60.0)
    assert not kept.live
    assert not kept.keep(rendered("a"), kept.epoch)  # before the listener first hears
    kept.hearing(True)
    assert kept.keep(rendered("a"), kept.epoch)
    kept.hearing(False)
    assert kept.get("a") is None and len(kept) == 0
    assert not kept.keep(rendered("a"), kept.epoch)
    kept.hearing(True)
    assert kept.get("a") is None  # what was missed while deaf is not served


def test_a_truncate_forgets_every_run() -> None:
    kept = hearing()
    for name in "abc":
        kept.keep(rendered(name), kept.epoch)
    kept.changed("")
    assert len(kept) == 0


def test_at_the_cap_the_least_recently_read_goes_and_zero_keeps_none() -> None:
    kept = hearing(capacity=2)
    kept.keep(rendered("a"), kept.epoch)
    kept.keep(rendered("b"), kept.epoch)
    assert kept.get("a") is not None  # read: "b" is now the least recently read
    kept.keep(rendered("c"), kept.epoch)
    assert len(kept) == 2
    assert kept.get("b") is None
    assert kept.get("a") is not None and kept.get("c") is not None
    none = hearing(capacity=0)
    assert not none.keep(rendered("a"), none.epoch)
    assert len(none) == 0


def test_an_entry_past_its_age_is_read_again() -> None:
    clock = Clock()
    kept = hearing(max_age_s=30.0, clock=clock)
    kept.keep(rendered("a"), kept.epoch)
    clock.now += 30.0
    assert kept.get("a") is not None  # at the cap
    clock.now += 0.5
    assert kept.get("a") is None
    assert len(kept) == 0


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("api_finished_runs_kept", 0, 100_000), ("api_finished_run_kept_s", 0.001, 86_400)],
)
def test_the_caps_are_settings_bounded_at_both_ends(name: str, low: float, high: float) -> None:
    assert Settings(**{name: low}).flat()[name] == low
    assert Settings(**{name: high}).flat()[name] == high
    with pytest.raises(ValueError, match=name):
        Settings(**{name: high * 2})
    with pytest.raises(ValueError, match=name):
        Settings(**{name: -1})
