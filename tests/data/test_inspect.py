"""inspect_series and the chapter's two temperature plots, on real files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.image import imread

from forecastlab.data import load_series
from forecastlab.data.inspect import format_report, inspect_series
from forecastlab.reporting.data_plots import FIRST_DAYS, WHOLE, plot_temperature, rows_for_days
from jena_files import jena_like_csv


@pytest.fixture(scope="module")
def jena_file(tmp_path_factory):
    # 12 days of 10-minute rows with 8 holes, one duplicated timestamp, 3 sentinels.
    path = jena_like_csv(tmp_path_factory.mktemp("inspect") / "j.csv", rows=1_720, slots=1_728,
                         sentinels={"wv (m/s)": [10, 11], "max. wv (m/s)": [900]})
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(101, lines[100])  # a duplicated row, as the real file has
    path.write_text("".join(lines))
    return path


def test_report_counts_and_statistics(jena_file):
    series = load_series(jena_file)
    report = inspect_series(series)
    json.dumps(report)  # --json must be able to write it as is

    assert report["rows"] == 1_721 and report["target"] == "T (degC)"
    assert report["time"]["frequency"] == "10min" and report["time"]["first"] == "2009-01-01 00:10:00"
    i = report["input"]
    assert i["gaps"]["count"] == 8 and i["gaps"]["missing_slots"] == 8 and len(i["gaps"]["first"]) == 8
    assert i["duplicates"] == 1 and "kept" in i["duplicates_action"]
    assert i["sentinel"]["wv (m/s)"] == 2 and i["sentinel"]["max. wv (m/s)"] == 1 and i["nan"]["p (mbar)"] == 0
    assert report["cleaning"]["sentinels_to_missing"] == 3 and report["cleaning"]["interpolated"] == 3
    assert report["provenance"]["sha256"] and report["provenance"]["rows"] == 1_721

    t = series.column("T (degC)").astype(np.float64)
    stats = report["statistics"]["T (degC)"]
    assert stats["unit"] == "degC" and stats["count"] == 1_721 and stats["missing"] == 0
    assert stats["mean"] == pytest.approx(t.mean(), abs=1e-3) and stats["std"] == pytest.approx(t.std(ddof=1), abs=1e-3)
    assert stats["min"] == pytest.approx(t.min(), abs=1e-3) and stats["p50"] == pytest.approx(np.median(t), abs=1e-3)
    assert report["statistics"]["wv (m/s)"]["min"] > -100  # cleaned

    raw = inspect_series(load_series(jena_file, clean=False))
    assert raw["statistics"]["wv (m/s)"]["min"] == -9999.0

    text = format_report(report)
    assert "1,721" in text and "8 holes" in text and "*T (degC)" in text


def test_two_temperature_plots(jena_file, tmp_path):
    series = load_series(jena_file)
    assert rows_for_days(series) == 1_440
    paths = plot_temperature(series, tmp_path / "plots")
    assert [p.name for p in paths] == [WHOLE, FIRST_DAYS]
    for p in paths:
        image = imread(p)
        assert image.shape[0] >= 300 and image.shape[1] >= 800
        assert image[..., :3].std() > 0.05  # something was drawn
    # Rerunning overwrites our own two files and touches nothing else.
    (tmp_path / "plots" / "notes.txt").write_text("mine")
    plot_temperature(series, tmp_path / "plots")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted([WHOLE, FIRST_DAYS, "notes.txt"])


def test_rows_for_days_follows_the_frequency(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("time,x\n" + "".join(f"2024-01-{1 + h // 24:02d} {h % 24:02d}:00,{h}\n" for h in range(72)))
    assert rows_for_days(load_series(path)) == 240


def test_the_statistics_table_keeps_its_columns_apart_for_huge_values(tmp_path):
    import pandas as pd

    times = pd.date_range("2024-01-01", periods=48, freq="h")
    path = tmp_path / "huge.csv"
    pd.DataFrame({"time": times, "T": np.arange(48.0), "p": 1e30 + np.arange(48.0) * 1e28}).to_csv(path, index=False)
    line = next(x for x in format_report(inspect_series(load_series(str(path), target="T"))).splitlines()
                if x.startswith(" p "))
    assert len(line.split()) == 8, line  # name, nan, -9999 and five statistics, each its own field


def test_the_text_report_says_utc_for_zoned_times_and_writes_the_step_with_its_number(tmp_path):
    import pandas as pd

    from forecastlab.data import load_series
    from forecastlab.data.inspect import format_report, inspect_series

    t = pd.date_range("2023-10-20", periods=200, freq="h", tz="Europe/Berlin")
    pd.DataFrame({"time": [x.isoformat() for x in t], "kw": np.arange(200.0)}).to_csv(tmp_path / "z.csv", index=False)
    report = inspect_series(load_series(tmp_path / "z.csv"))
    line = next(x for x in format_report(report).splitlines() if x.startswith("time "))
    assert line.startswith("time       2023-10-19 22:00:00") and "frequency 1h (times in UTC" in line
    assert report["time"]["utc"] and report["time"]["frequency"] == "h"  # the JSON keeps pandas' name
