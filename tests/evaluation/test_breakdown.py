"""Errors grouped by the target time (forecastlab.evaluation.breakdown): hours, months and meteorological
seasons in calendar order, only those present, each group's MAE and count exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecastlab.errors import ForecastlabError
from forecastlab.evaluation.breakdown import mae_by_time, season_of


def test_seasons_are_whole_months_djf_to_son():
    assert season_of(np.arange(1, 13)).tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0]


def test_groups_in_calendar_order_with_exact_means_and_counts():
    times = pd.to_datetime(["2015-12-31 23:00", "2015-01-01 00:00", "2015-07-01 00:00", "2015-07-02 23:00"])
    model, base = np.array([1.0, 3.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0, 2.0])
    season = mae_by_time(times, {"m": model, "persistence": base}, "season")
    assert season["season"].tolist() == ["DJF (winter)", "JJA (summer)"]
    assert season["targets"].tolist() == [2, 2] and season["m"].tolist() == [2.0, 3.0]
    hour = mae_by_time(times, {"m": model}, "hour")
    assert hour["hour"].tolist() == ["00:00", "23:00"] and hour["m"].tolist() == [2.5, 2.5]
    month = mae_by_time(times.to_numpy().reshape(2, 2), {"m": model.reshape(2, 2)}, "month")  # (N, H) is flattened
    assert month["month"].tolist() == ["Jan", "Jul", "Dec"] and month["targets"].tolist() == [1, 2, 1]


def test_bad_groupings_and_shapes_are_named():
    times = pd.date_range("2015-01-01", periods=3, freq="1h")
    with pytest.raises(ForecastlabError, match="cannot group errors by 'week'"):
        mae_by_time(times, {"m": np.zeros(3)}, "week")
    with pytest.raises(ForecastlabError, match="2 errors of 'm' for 3 target times"):
        mae_by_time(times, {"m": np.zeros(2)}, "hour")
