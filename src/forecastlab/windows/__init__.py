"""Cut a series into windows: Keras's timeseries_dataset_from_array, lazy and fast, plus the chapter's
chronological split, train-only normalization and the three datasets of code 10-7.
"""

from forecastlab.windows.dataset import WindowDataset, timeseries_dataset_from_array
from forecastlab.windows.spec import SplitDatasets, WindowSpec, make_datasets_from_series
from forecastlab.windows.split import Normalizer, chronological_split

__all__ = [
    "Normalizer",
    "SplitDatasets",
    "WindowDataset",
    "WindowSpec",
    "chronological_split",
    "make_datasets_from_series",
    "timeseries_dataset_from_array",
]
