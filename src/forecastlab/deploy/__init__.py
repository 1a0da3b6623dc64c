"""Using a trained run for real: a portable artifact (export and load), forecasts from fresh data, the
HTTP service, and the HTML report.

Above reproduce, below the CLI: it reads finished runs (forecastlab.training) and reproduce
directories, and changes nothing in them.
"""
