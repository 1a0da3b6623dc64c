"""The chapter's other time-series tasks (section 10.1) on the same data, windows, models and runs:
anomaly detection (forecastlab.tasks.anomaly)."""
