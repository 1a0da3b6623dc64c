"""What each task is, declared in one place: its target builder, head, loss, metrics, baselines, and the
commands and functions that train, save, serve and report it. `forecastlab tasks` prints this table
(`--json` too), and a test checks every entry against the code it names, so the table cannot drift.

    from forecastlab.tasks.declared import TASKS
    TASKS["events"].targets        # 'forecastlab.tasks.events.front_labels + warning_targets'
    TASKS["events"].metrics        # ('event_precision', 'event_recall', 'event_f1', ...)

Every task shares the same layers: the loaders (forecastlab.data), the window engine (forecastlab.windows),
the model registry and contract (forecastlab.models: a classifier is a registered model with one output
per class), the training loop's parts (forecastlab.training: optimizers, seeding, checkpoints), and the
recipe file (a [task] table naming the kind; forecastlab.tasks.recipes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Task:
    kind: str  # the recipe's [task] kind
    what: str
    targets: str  # the target builder: the function(s) that make each window's target from the data
    head: str  # what the model outputs
    loss: str
    metrics: tuple[str, ...]  # the keys of each split's scores, as the result and its JSON hold them
    baselines: tuple[str, ...]
    train: str  # the Python entry points
    command: str
    saved: str  # what a trained one is saved as, and how it is loaded
    serve: str  # the HTTP endpoint that answers for it
    report: str

    def to_dict(self) -> dict:
        return asdict(self)


TASKS: dict[str, Task] = {t.kind: t for t in (
    Task("forecast", "the target's value at each horizon (the chapter's task: temperature 24 h ahead)",
         targets="forecastlab.windows.make_datasets_from_series (the target `delay` rows after each window)",
         head="one value per horizon, or one per quantile (forecastlab.models.head.Head)",
         loss="mse (the book's), mae, huber or quantile:... (forecastlab.models.losses.parse_loss)",
         metrics=("mae", "mse"),
         baselines=("persistence", "seasonal_persistence", "climatology"),
         train="forecastlab.training.runner.run_recipe, run_seeds", command="forecastlab train",
         saved="a run directory (config.json, weights, metrics.json); forecastlab.training.load_run, export",
         serve="POST /forecast, POST /forecast/batch", report="forecastlab report RUN_DIR"),
    Task("classify", "a class per window: frost (T < 0 degC) within 24 h, or a UCR/UEA dataset's label",
         targets="forecastlab.tasks.classification.frost_labels; a UCR archive's own labels (forecastlab.data.ucr)",
         head="one logit per class (any registered torch model with n_outputs = the classes)",
         loss="cross-entropy, optionally weighted by inverse class frequency (fit_classifier)",
         metrics=("accuracy", "macro_f1", "log_loss"),
         baselines=("majority class", "rules: frost in the past 24 h, temperature now below t, past-24 h minimum "
                    "below t", "1-NN (Euclidean) on UCR"),
         train="forecastlab.tasks.classification.classify_frost, classify_cases; tasks.recipes.run_task",
         command="forecastlab classify",
         saved="classifier.json + weights.safetensors; tasks.classification.load_classifier, export",
         serve="POST /classify", report="forecastlab report CLASSIFIER_DIR"),
    Task("events", "per-timestep warnings of a front passage (pressure drop with a wind shift) up to 6 h ahead",
         targets="forecastlab.tasks.events.front_labels + warning_targets (the documented rule)",
         head="two logits per timestep (the window ending at each row), a flag threshold tuned on validation",
         loss="cross-entropy (fit_classifier)",
         metrics=("event_precision", "event_recall", "event_f1", "false_alarms_per_30d", "median_lead_hours"),
         baselines=("pressure falling now (6 h change below t)", "trivial: random", "trivial: always"),
         train="forecastlab.tasks.events.detect_fronts; tasks.recipes.run_task", command="forecastlab events",
         saved="classifier.json + weights.safetensors (kind events); tasks.classification.load_classifier",
         serve="POST /classify", report="forecastlab report DETECTOR_DIR"),
    Task("anomalies", "unusual timesteps, unsupervised: sensor faults and surprises",
         targets="none to train on (unsupervised); benchmarks: forecastlab.data.faults.inject_faults, or a "
                 "labelled series's own labels",
         head="scores per row: rules, a forecaster's residual robust z (and interval excess), an autoencoder's "
              "reconstruction error (forecastlab.models.autoencoder)",
         loss="the autoencoder's reconstruction MSE; the forecaster's own loss",
         metrics=("event_precision", "event_recall", "event_f1", "range_precision", "range_recall", "range_f1",
                  "point_adjusted_f1"),
         baselines=("trivial: random", "trivial: always"),
         train="forecastlab.tasks.anomaly.detect_anomalies, fault_benchmark, labelled_benchmark; "
               "tasks.recipes.run_task", command="forecastlab anomalies",
         saved="nothing of its own: the events (--out CSV/JSON); it reuses a trained forecaster's run or artifact",
         serve="POST /anomalies (on a forecaster's service)", report="forecastlab anomalies --report FILE.html"),
)}
