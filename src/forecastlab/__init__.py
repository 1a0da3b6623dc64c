"""forecastlab: forecast multivariate time series with deep learning.

The flow follows Chapter 10 of *Deep Learning with Python* (2nd ed.):

    series = forecastlab.data.load_series("jena")          # load a source into a Series
    datasets = WindowSpec().make_datasets(series)           # cut lazy windows
    result = forecastlab.training.train("lstm", datasets)   # fit a model
    forecastlab.evaluation.baselines(...)                   # evaluate against honest baselines

Each step is one call with a clear type; the CLI (`forecastlab ...`) is a thin layer over it.
"""

from forecastlab.errors import ForecastlabError

__version__ = "0.1.0"
__all__ = ["ForecastlabError", "__version__"]
