"""Windows in time units and horizon lists, resolved against the data's step."""

from __future__ import annotations

import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.windows.horizons import duration_text, parse_duration, parse_horizons, resolve_window

MIN10, HOUR = 600 * 10**9, 3600 * 10**9


def test_the_book_defaults_on_10_minute_data_are_the_books_rows():
    w = resolve_window(step_ns=MIN10)
    assert (w.sequence_length, w.sampling_rate, w.horizons) == (120, 6, (24,))
    assert w.sampling_rate * (w.sequence_length + w.horizons[0] - 1) == 858  # the book's delay
    assert w.describe().startswith("lookback 5d = 120 steps of 1h (6 rows of 10min), horizons 1d")


def test_the_same_defaults_on_hourly_data_need_no_other_option():
    w = resolve_window(step_ns=HOUR)
    assert (w.sequence_length, w.sampling_rate, w.horizons) == (120, 1, (24,))


@pytest.mark.parametrize(("text", "steps"), [
    ("24h", [24]), ("6h,12h,24h", [6, 12, 24]), ("1h-24h", list(range(1, 25))), ("1-24", list(range(1, 25))),
    ("1-3,12,24h", [1, 2, 3, 12, 24]), ("24h,24", [24]), ("2h-4h", [2, 3, 4]),
])
def test_horizon_specs(text, steps):
    assert parse_horizons(text, sample_every_ns=HOUR) == steps


def test_row_counts_override_durations_as_keras_users_expect():
    w = resolve_window(step_ns=MIN10, sequence_length=24, sampling_rate=3, horizons="1-6")
    assert (w.sequence_length, w.sampling_rate, w.horizons) == (24, 3, (1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sample_every": "7min"}, "not a whole number of 10min"),
    ({"lookback": "5d30min"}, "not a whole number of 1h"),
    ({"horizons": "90min"}, "not a whole number of --sample-every"),
    ({"horizons": "24h-1h"}, "runs backwards"),
    ({"horizons": "0"}, "at least one step ahead"),
    ({"horizons": "1-100000"}, "more than 1000 horizons"),
    ({"horizons": "6h,,12h"}, "empty item"),
    ({"lookback": "5"}, "has no unit"),
    ({"lookback": "soon"}, "is not a duration"),
    ({"lookback": "-1h"}, "longer than zero"),
    ({"lookback": "nan"}, "'nan' is not a duration"),  # pandas reads these as a missing duration (NaT)
    ({"lookback": "NaT"}, "'NaT' is not a duration"),
    ({"sample_every": ""}, "'' is not a duration"),
    ({"horizons": "-1h"}, "must be ahead of the forecast origin, got '-1h'"),  # not "got ''"
    ({"horizons": "6h,-1h"}, "got '-1h'"),
    ({"sampling_rate": 0}, "sampling_rate must be a whole number of 1 or more"),
])
def test_bad_window_options_name_the_argument(kwargs, message):
    with pytest.raises(ForecastlabError, match=message):
        resolve_window(step_ns=MIN10, **kwargs)


def test_durations_read_and_print_as_people_write_them():
    assert parse_duration("1h30min", arg="x") == 90 * 60 * 10**9
    assert [duration_text(v) for v in (5 * 86_400 * 10**9, HOUR, MIN10, 90 * 60 * 10**9)] == ["5d", "1h", "10min",
                                                                                             "1h30min"]
    with pytest.raises(ForecastlabError, match="sampled step is not known"):
        parse_horizons("24h", sample_every_ns=None)
    assert parse_horizons("1-3", sample_every_ns=None) == [1, 2, 3]
