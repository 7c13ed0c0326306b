"""Drill times of injects and script steps: durations whose seconds may carry milliseconds."""

from __future__ import annotations

import pytest

from drillkit.model.durations import format_drill_time, parse_drill_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("2m", 120), ("4m59.75s", 299.75), ("1h0.001s", 3600.001), ("15m0.2s", 900.2), ("1d2h3m4.5s", 93784.5)],
)
def test_a_drill_time_reads_and_writes_back_the_same(text: str, seconds: float) -> None:
    assert parse_drill_time(text) == seconds
    assert parse_drill_time(format_drill_time(seconds)) == seconds


def test_whole_seconds_stay_whole_numbers() -> None:
    assert isinstance(parse_drill_time("90s"), int)
    assert format_drill_time(90) == "1m30s"


@pytest.mark.parametrize("text", ["1.5m", "1m0.1234s", "0.s", "1m30", "1.5"])
def test_only_seconds_take_up_to_three_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="not valid"):
        parse_drill_time(text)
