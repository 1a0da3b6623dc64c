"""The chapter's other time-series tasks (section 10.1) on the same data, windows, models and runs:
anomaly detection (forecastlab.tasks.anomaly) and window classification (forecastlab.tasks.classification:
frost within 24 hours on a weather record, and the UCR/UEA benchmarks), event detection
(forecastlab.tasks.events: front passages); forecastlab.tasks.recipes trains classify and events tasks from
their options or a recipe file, as the commands do."""
