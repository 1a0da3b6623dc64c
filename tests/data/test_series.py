"""forecastlab.data.series: units read from headers."""

from __future__ import annotations

import numpy as np
import pytest

from forecastlab.data import Provenance, Series, split_unit


@pytest.mark.parametrize(("header", "expected"), [
    ("T (degC)", ("T", "degC")),
    ("p (mbar)", ("p", "mbar")),
    ("Temperature [°C]", ("Temperature", "°C")),
    ("Load[MW]", ("Load", "MW")),
    ("wind speed [ m/s ]", ("wind speed", "m/s")),
    ("load", ("load", None)),
    ("(degC)", ("(degC)", None)),  # only a unit: no name to give it
    ("x []", ("x []", None)),
    ("x ()", ("x ()", None)),
    ("a (b) c", ("a (b) c", None)),  # not at the end
    ("T (degC] ", ("T (degC] ", None)),  # mismatched
])
def test_a_unit_is_read_from_parentheses_or_brackets_at_the_end(header, expected):
    assert split_unit(header) == expected


def test_a_series_takes_its_units_from_its_headers():
    s = Series(timestamps=np.arange(3).astype("datetime64[h]").astype("datetime64[ns]"),
               values=np.zeros((3, 3), dtype=np.float32), columns=["Temperature [degC]", "p (mbar)", "flag"],
               target="Temperature [degC]", provenance=Provenance(source="file"))
    assert s.units == ["degC", "mbar", None] and s.target_unit == "degC"
