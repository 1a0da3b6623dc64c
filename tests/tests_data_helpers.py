"""A Jena-format file with physically consistent columns, for the anomaly tests (rules must stay silent on it)."""

from __future__ import annotations

import pandas as pd

from run_helpers import write_jena_csv


def consistent_jena(path, days=20) -> pd.DataFrame:
    """write_jena_csv's file made physically consistent (VPact < VPmax, max. wv > wv, Tdew < T, rh in 0..100)."""
    write_jena_csv(path, days=days)
    frame = pd.read_csv(path)
    frame["VPact (mbar)"] = (frame["VPmax (mbar)"] * 0.7).round(2)
    frame["max. wv (m/s)"] = frame["wv (m/s)"] + 1.0
    frame["Tdew (degC)"] = frame["T (degC)"] - 3.0
    frame["rh (%)"] = 60 + frame["rh (%)"]
    frame.to_csv(path, index=False)
    return frame
