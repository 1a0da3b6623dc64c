"""Load a source (real Jena, the built-in synthetic Jena, or any CSV/Parquet file) into a Series."""

from forecastlab.data.series import Provenance, Series, split_unit

__all__ = ["Provenance", "Series", "split_unit"]
