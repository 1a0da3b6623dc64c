"""forecastlab: forecast multivariate time series with deep learning.

The flow follows Chapter 10 of *Deep Learning with Python* (2nd ed.):

    series = forecastlab.data.load_series("jena")          # load a source into a Series
    datasets = WindowSpec().make_datasets(series)           # cut lazy windows
    result = forecastlab.training.train("lstm", datasets)   # fit a model
    forecastlab.evaluation.baselines(...)                   # evaluate against honest baselines

Each step is one call with a clear type; the CLI (`forecastlab ...`) is a thin layer over it.

The subpackages are layers, and imports run one way, down the flow (tests/test_architecture.py reads
every import, those inside functions too):

    data -> windows -> models -> evaluation -> reporting -> training -> tasks -> reproduce -> deploy -> cli

- data: sources, the Jena schema and the book's reference numbers, into a Series.
- windows: lazy windows over a Series and its splits. models: the registry and the networks.
- evaluation: metrics and baselines, below training because the fit loop scores every epoch with them.
- reporting: plots and tables of plain numbers, below training because a run draws its own curves.png.
- training: the fit loop, run directories, a saved run used later. tasks: the chapter's other tasks
  (anomaly detection) on the same layers. reproduce: the whole chapter.
- deploy: a run used for real: the portable artifact, forecasts from fresh data, the HTTP service,
  the HTML report.
- cli: the command line, the one place that changes the process (CPU tuning, signals, warning display).
- errors, atomic and console are cross-cutting: any layer may import them, and they import no layer.
  Library code reports through `warnings` (categories in forecastlab.errors), never by printing; only
  the progress bars that `progress=True` asks for draw on stderr.
"""

from forecastlab.errors import ForecastlabError

__version__ = "0.1.0"
__all__ = ["ForecastlabError", "__version__"]
