"""The Jena climate file's layout, defined once: its columns, their units, its time format and the book's target.

The reader of the real file (`forecastlab.data.jena`), the synthetic generator that mimics it
(`forecastlab.data.synthetic`) and the column picker (`forecastlab.data.columns`) all take it from here.
"""

from __future__ import annotations

TIME_COLUMN = "Date Time"
TIME_FORMAT = "%d.%m.%Y %H:%M:%S"  # '01.01.2009 00:10:00'
TARGET = "T (degC)"  # the book forecasts the air temperature

# The real file's 15 header names, in the file's order; each measurement carries its unit in parentheses.
JENA_COLUMNS: list[str] = [
    TIME_COLUMN,
    "p (mbar)",
    TARGET,
    "Tpot (K)",
    "Tdew (degC)",
    "rh (%)",
    "VPmax (mbar)",
    "VPact (mbar)",
    "VPdef (mbar)",
    "sh (g/kg)",
    "H2OC (mmol/mol)",
    "rho (g/m**3)",
    "wv (m/s)",
    "max. wv (m/s)",
    "wd (deg)",
]

# Column -> unit, as written in the header: {'p (mbar)': 'mbar', 'T (degC)': 'degC', ...}.
UNITS: dict[str, str] = {name: name[name.rindex("(") + 1 : -1] for name in JENA_COLUMNS[1:]}


def jena_columns() -> list[str]:
    """The real file's 15 header names, as a new list."""
    return list(JENA_COLUMNS)
