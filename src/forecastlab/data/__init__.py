"""Load a source (real Jena, the built-in synthetic Jena, or any CSV/Parquet file) into a Series."""

from forecastlab.data.loader import load_series, require_min_rows
from forecastlab.data.series import Provenance, Series, split_unit

__all__ = ["Provenance", "Series", "load_series", "require_min_rows", "split_unit"]
