"""Hyperparameter sweeps on Optuna: one study, any number of worker processes, exactly N trials.

    from forecastlab.training.recipe import ModelRecipe, Recipe, DataRecipe, TrainingRecipe
    base = Recipe(ModelRecipe("lstm"), DataRecipe("synthetic"), training=TrainingRecipe(epochs=5))
    summary = sweep(base, trials=20, out="sweeps/lstm")        # run it again elsewhere to add a worker
    summary["best"]["params"], summary["best"]["value"]        # the best validation MAE and its settings
    export_best("sweeps/lstm", "best.toml")                    # `forecastlab train --config best.toml`

How it works, and why:
- The study lives in a storage. The default is SQLite in the sweep directory (OUT/study.db) with a long
  lock timeout, shared by every worker on this machine; a URL (postgresql://...) lets workers on many
  machines join one study. Optuna's journal-file storage would avoid SQLite's locks, but it has no
  heartbeat, and the heartbeat is how a killed worker's trial gets marked failed (below).
- `trials` is the study's total, not each worker's: the worker that creates the study enqueues exactly
  that many trials, and every worker only ever claims an enqueued one (optuna's own WAITING -> RUNNING
  compare-and-set, made atomic for SQLite by a file lock beside the database, by row locks for
  PostgreSQL). No worker creates a trial of its own, so no trial is run twice and none is added.
- Each trial is a normal run directory, OUT/trials/trial-NNNN, trained by run_recipe with the space's
  values applied to the base recipe; its per-epoch val loss goes to the pruner (median or Hyperband),
  and the objective is the best epoch's validation MAE. Test MAE is recorded and never used to choose.
- Every trial directory ends with trial.json: its state (complete, pruned or failed), the reason for a
  failure, its parameters and value. A worker records a heartbeat for its running trial; when a worker
  dies (SIGKILL, a lost machine), the other workers mark its trial failed once the heartbeat is older
  than the grace period (optuna.storages.fail_stale_trials), write that trial's trial.json, and go on.
  A worker with no trial left to claim waits for the others' running trials before it summarizes.

Library code: nothing here prints, seeds the process or changes threads; `progress` calls a function.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from forecastlab.atomic import atomic_write_json, atomic_write_text
from forecastlab.errors import ForecastlabError
from forecastlab.training.recipe import toml_value as _toml_value
from forecastlab.tuning.space import Dimension, apply, model_space

STUDY_DB = "study.db"
LOCK_FILE = ".sweep.lock"
SUMMARY = "sweep.json"
BEST_TOML = "best.toml"
TRIAL_FILE = "trial.json"
MAX_TRIALS = 10_000
PRUNERS = ("median", "hyperband", "none")
DEFAULT_HEARTBEAT = 10  # seconds between a running trial's heartbeats
READY_WAIT = 120.0  # seconds a joining worker waits for the creating worker to enqueue the trials


@dataclasses.dataclass
class SweepPlan:
    """What a study is: the model's base recipe, the space, the total trial count and the pruner. Stored in
    the study (user attribute "forecastlab") by its creator; a joining worker must bring the same plan."""

    recipe: Any  # forecastlab.training.recipe.Recipe
    dims: list[Dimension]
    trials: int
    pruner: str = "median"

    def to_dict(self) -> dict:
        return {"recipe": self.recipe.as_input().to_dict(), "space": {d.key: d.to_dict() for d in self.dims},
                "trials": self.trials, "pruner": self.pruner}


def storage_url(out: str | Path, storage: str | None = None) -> tuple[str, bool]:
    """(the storage URL, whether it is the embedded SQLite file in `out`)."""
    if storage is None:
        return f"sqlite:///{(Path(out).resolve() / STUDY_DB)}", True
    if not isinstance(storage, str) or "://" not in storage:
        raise ForecastlabError(f"the storage {storage!r} is not a database URL", where="storage",
                               fix="give postgresql://USER@HOST:PORT/DB (or sqlite:///PATH), or leave it out for "
                               "the sweep directory's own SQLite file")
    return storage, storage.startswith("sqlite:")


def open_storage(out: str | Path, storage: str | None = None, *, heartbeat: int = DEFAULT_HEARTBEAT,
                 grace: int | None = None):
    """An optuna RDBStorage with heartbeats on (a dead worker's trial fails after `grace` seconds, by
    default 3 heartbeats), and whether it is a SQLite file (then claims are serialized by a file lock)."""
    import optuna

    url, is_sqlite = storage_url(out, storage)
    if heartbeat < 1:
        raise ForecastlabError(f"heartbeat must be 1 second or more, got {heartbeat}", arg="heartbeat",
                               fix="leave it at its default (10 s) unless a test needs it shorter")
    kwargs = {"connect_args": {"timeout": 120}} if is_sqlite else {"pool_pre_ping": True}
    last = None
    for attempt in range(5):  # several workers starting at once may race to create the tables
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval's
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=kwargs, heartbeat_interval=int(heartbeat),
                    grace_period=int(grace if grace is not None else 3 * heartbeat)), is_sqlite
        except ImportError as err:  # optuna's "Failed to import DB access module", or the driver's own
            raise ForecastlabError(f"the storage {url.split('://')[0]}:// needs a database driver that is not "
                                   f"installed ({err})", where="storage",
                                   fix="for PostgreSQL: pip install 'psycopg[binary]' (forecastlab's postgres "
                                   "extra)") from None
        except Exception as err:  # sqlalchemy's OperationalError and friends: a race, or a server not there
            last = err
            time.sleep(0.5 * (attempt + 1))
    raise ForecastlabError(f"cannot open the study storage ({str(last).splitlines()[0][:200]})",
                           where=_safe_url(url), fix="check that the database server runs and the URL is right")


def sweep(recipe, *, trials: int, out: str | Path, storage: str | None = None, study: str | None = None,
          space: str | Path | None = None, pruner: str = "median", seed: int | None = None,
          heartbeat: int = DEFAULT_HEARTBEAT, grace: int | None = None, progress=None) -> dict:
    """Run (or join) the study and work on its trials until none is left; return summarize()'s dict.

    recipe: the base recipe (forecastlab.training.recipe.Recipe) every trial starts from.
    trials: the study's total number of trials, shared by all its workers.
    out: the sweep directory (trials/, study.db, sweep.json, plots, best.toml).
    storage: a database URL (postgresql://...) for workers on several machines; None: OUT/study.db.
    study: the study's name (default: sweep-MODEL). space: a search-space file (default: the built-in).
    pruner: "median", "hyperband" or "none". seed: the TPE sampler's seed for the worker that creates the
        study (so a one-worker sweep repeats itself); a joining worker adds an offset of its own, so
        several workers do not draw the same values.
    progress: called with one line of text per trial event (the CLI prints it)."""
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS:
        raise ForecastlabError(f"trials must be a whole number from 1 to {MAX_TRIALS:,}, got {trials!r}", arg="trials",
                               fix="pass --trials N, the study's total over all its workers")
    if pruner not in PRUNERS:
        raise ForecastlabError(f"unknown pruner {pruner!r}", arg="pruner", fix=f"use one of: {', '.join(PRUNERS)}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
        raise ForecastlabError(f"seed must be a whole number from 0 to 2**32 - 1, got {seed!r}", arg="seed",
                               fix="pass seed=0, for example, or None for a random one")
    for name in ("epochs", "max_steps_per_epoch"):  # every trial would fail on it: refused before the study
        value = getattr(recipe.training, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ForecastlabError(f"{name} must be a whole number of at least 1, got {value!r}", arg=name,
                                   fix=f"pass {name}=1 or more")
    out = Path(out)
    name = check_study_name(study or f"sweep-{recipe.model.name}")
    _refuse_another_study(out, name)
    out.mkdir(parents=True, exist_ok=True)
    (out / "trials").mkdir(exist_ok=True)
    plan = SweepPlan(recipe.as_input(), model_space(recipe.model.name, space), trials, pruner)
    store, is_sqlite = open_storage(out, storage, heartbeat=heartbeat, grace=grace)
    lock = out / LOCK_FILE if is_sqlite else None
    say = progress or (lambda text: None)
    worker = Worker(plan, out, store, name, lock, seed, say)
    with _claim_lock(lock):
        created = worker.open()
    if not created:
        worker.wait_ready()
    where = _safe_url(storage_url(out, storage)[0])
    say(f"{'created' if created else 'joined'} study {name!r} ({trials} trials in all) in {where}")
    worker.work()
    worker.wait_for_others(heartbeat)
    summary = summarize(worker.study, out)
    write_outputs(worker.study, out, summary)
    return summary


def _refuse_another_study(out: Path, name: str) -> None:
    """One sweep directory holds one study's summary (sweep.json, best.toml, plots): a second study there
    would replace them."""
    import json

    try:
        there = json.loads((out / SUMMARY).read_text()).get("study")
    except (OSError, ValueError, AttributeError):
        return
    if there and there != name:
        raise ForecastlabError(f"the sweep directory holds the study {there!r} (its {SUMMARY}), not {name!r}; a "
                               "second study there would replace that one's summary, best.toml and plots",
                               where=str(out), fix=f"give the new study its own out=, or join {there!r} with "
                               f"study={there!r}")


def check_study_name(name: str) -> str:
    """A study name is also a folder name (OUT/trials/NAME): letters, digits, '.', '_' and '-'."""
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise ForecastlabError(f"the study name {name!r} is not a plain name", arg="study",
                               fix="use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


class Worker:
    """One process's part of a study: claim a waiting trial, train it, tell the result, repeat."""

    def __init__(self, plan: SweepPlan, out: Path, storage, name: str, lock: Path | None, seed, say):
        self.plan, self.out, self.storage, self.name, self.lock, self.say = plan, out, storage, name, lock, say
        self.seed = seed
        self.study = None
        self._series: dict[str, Any] = {}

    # -- the study --------------------------------------------------------------------------------------

    def open(self) -> bool:
        """Create the study (and enqueue its trials) or load it; True when this worker created it."""
        import optuna

        pruner = _pruner(self.plan.pruner)
        try:
            self.study = optuna.create_study(storage=self.storage, study_name=self.name, direction="minimize",
                                             sampler=optuna.samplers.TPESampler(seed=self.seed), pruner=pruner)
        except optuna.exceptions.DuplicatedStudyError:
            self.study = optuna.load_study(study_name=self.name, storage=self.storage, pruner=pruner,
                                           sampler=optuna.samplers.TPESampler(seed=self._joiner_seed()))
            return False
        self.study.set_user_attr("forecastlab", self.plan.to_dict() | {"ready": False})
        for _ in range(self.plan.trials):
            self.study.enqueue_trial({}, skip_if_exists=False)
        self.study.set_user_attr("forecastlab", self.plan.to_dict() | {"ready": True})
        return True

    def wait_ready(self) -> None:
        """Wait for the creator's enqueueing; refuse a plan other than the study's."""
        deadline = time.monotonic() + READY_WAIT
        while True:
            stored = self.study.user_attrs.get("forecastlab")
            if stored is None and self.study.get_trials(deepcopy=False):
                raise ForecastlabError(f"the study {self.name!r} was not made by forecastlab sweep",
                                       where=_safe_url(self.storage.url), fix="give a new --study name")
            if stored is not None:
                self._check_plan(stored)
                if stored.get("ready"):
                    return
            if time.monotonic() > deadline:
                raise ForecastlabError(f"the study {self.name!r} has not finished enqueueing its trials after "
                                       f"{READY_WAIT:.0f} s (its creating worker may have died)",
                                       where=_safe_url(self.storage.url),
                                       fix="start the sweep again with a new --study name")
            time.sleep(0.5)
            self.study = _reload(self.study)

    def _check_plan(self, stored: dict) -> None:
        mine = self.plan.to_dict()
        for key, what in (("trials", "--trials"), ("pruner", "--pruner"), ("space", "search space"),
                          ("recipe", "recipe (model, data, window, training options)")):
            if stored.get(key) != mine[key]:
                theirs = stored.get(key)
                detail = f" ({theirs} there, {mine[key]} here)" if key in ("trials", "pruner") else \
                    _first_difference(theirs, mine[key])
                raise ForecastlabError(
                    f"the study {self.name!r} already exists with another {what}{detail}",
                    where=_safe_url(self.storage.url),
                    fix="join it with the options it was made with (sweep.json in its directory lists them), or "
                    "start a new study with --study NAME")

    def _joiner_seed(self) -> int | None:
        """The creating worker samples with the seed itself (so a one-worker sweep repeats); a joining one
        with an offset of its own, or it would draw the creator's values."""
        if self.seed is None:
            return None
        return (int(self.seed) * 1_000_003 + os.getpid() % 100_000 + 1) % 2**32

    # -- trials ------------------------------------------------------------------------------------------

    def work(self) -> int:
        """Claim and run trials until none is waiting; the number this worker ran."""
        ran = 0
        while True:
            with _claim_lock(self.lock):
                self.fail_stale()
                trial_id = self._claim()
            if trial_id is None:
                return ran
            self._run(trial_id)
            ran += 1

    def _claim(self) -> int | None:
        import optuna
        from optuna.trial import TrialState

        study_id = self.storage.get_study_id_from_name(self.name)
        for frozen in self.storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,)):
            try:
                # optuna's own claim (what Study.ask does): WAITING -> RUNNING only if still WAITING
                if self.storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                    self.storage.record_heartbeat(frozen._trial_id)
                    return frozen._trial_id
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
        return None

    def fail_stale(self) -> None:
        """Mark the trials of dead workers failed (their heartbeat is older than the grace period) and write
        their trial.json."""
        import optuna

        before = {t.number for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
        for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
            if t.number not in before and t.user_attrs.get("run_dir"):
                reason = (f"its worker ({t.user_attrs.get('worker', 'unknown')}) stopped sending heartbeats: killed "
                          "or lost; found by another worker")
                # a finished trial's attributes are frozen: the reason goes to the study's, keyed by number
                self.study.set_user_attr(f"reason-{t.number}", reason)
                _write_trial_file(Path(t.user_attrs["run_dir"]), t, "failed", reason)
                self.say(f"trial {t.number}: marked failed ({reason})")

    def _run(self, trial_id: int) -> None:
        import optuna
        from optuna.trial import TrialState

        from forecastlab.training.runner import run_recipe

        trial = optuna.trial.Trial(self.study, trial_id)
        run_dir = self.out.resolve() / "trials" / self.name / f"trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir))
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        values = {d.key: d.suggest(trial) for d in self.plan.dims}
        self.say(f"trial {trial.number}: {_params_text(values)}")
        beat = _Heartbeat(self.storage, trial_id)
        pruned: list[int] = []

        def on_epoch(row: dict) -> bool:
            value = row.get("val_loss")
            if value is None or value != value:  # NaN: the pruner cannot compare it; let the run end as it will
                return False
            trial.report(float(value), int(row["epoch"]))
            if trial.should_prune():
                pruned.append(int(row["epoch"]))
                return True
            return False

        started = time.perf_counter()
        with beat:
            try:
                recipe = apply(self.plan.recipe, values)
                result = run_recipe(recipe, run_dir, progress=False, series=self._data(recipe), on_epoch=on_epoch)
            except KeyboardInterrupt:
                self._fail(trial, run_dir, "interrupted (Ctrl-C or SIGTERM)")
                raise
            except ForecastlabError as err:
                self._fail(trial, run_dir, err.paragraph())
                return
            except Exception as err:  # a bug in a model or a library: the trial fails, the sweep goes on
                self._fail(trial, run_dir, f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=8)}")
                return
        seconds = time.perf_counter() - started
        val, test = float(result.val["mae"]), float(result.test["mae"])
        trial.set_user_attr("val_mae", val)
        trial.set_user_attr("test_mae", test)  # recorded, never the objective
        trial.set_user_attr("epochs_run", len(result.history))
        trial.set_user_attr("seconds", round(seconds, 3))
        if pruned:
            trial.set_user_attr("reason", f"pruned after epoch {pruned[0]} ({self.plan.pruner} pruner on val loss)")
            self.study.tell(trial, state=TrialState.PRUNED)
            state = "pruned"
        elif val != val:
            trial.set_user_attr("reason", "the validation MAE is NaN (the model diverged)")
            self.study.tell(trial, state=TrialState.FAIL)
            state = "failed"
        else:
            self.study.tell(trial, val)
            state = "complete"
        frozen = self.study._storage.get_trial(trial_id)
        _write_trial_file(run_dir, frozen, state, frozen.user_attrs.get("reason"))
        self.say(f"trial {trial.number}: {state}, val MAE {val:.4f} after {len(result.history)} epoch(s), "
                 f"{seconds:.1f} s")

    def _fail(self, trial, run_dir: Path, reason: str) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr("reason", reason[:4000])
        self.study.tell(trial, state=TrialState.FAIL)
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_trial_file(run_dir, self.study._storage.get_trial(trial._trial_id), "failed", reason[:4000])
        self.say(f"trial {trial.number}: failed: {reason.splitlines()[0][:300]}")

    def _data(self, recipe):
        """The recipe's Series, loaded once per distinct data recipe in this worker."""
        key = json.dumps(dataclasses.asdict(recipe.data), default=str, sort_keys=True)
        if key not in self._series:
            self._series = {key: recipe.data.absolute().load()}  # one at a time: a Series can be large
        return self._series[key]

    def wait_for_others(self, heartbeat: int) -> None:
        """Wait while other workers still run trials, failing those whose worker died."""
        from optuna.trial import TrialState

        while True:
            with _claim_lock(self.lock):
                self.fail_stale()
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))
            if not running:
                return
            time.sleep(min(2.0, heartbeat))


class _Heartbeat:
    """Records a running trial's heartbeat every interval, in a thread, until the block ends."""

    def __init__(self, storage, trial_id: int):
        self.storage, self.trial_id = storage, trial_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{trial_id}", daemon=True)

    def _beat(self) -> None:
        interval = self.storage.get_heartbeat_interval()
        while not self._stop.wait(interval):
            with contextlib.suppress(Exception):  # a lost connection: the next beat tries again
                self.storage.record_heartbeat(self.trial_id)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def _claim_lock(path: Path | None):
    """An exclusive lock on `path` (the SQLite claims of the workers on this machine); no-op for None."""
    if path is None:
        yield
        return
    import fcntl

    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pruner(name: str):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)  # from epoch 1, once 3 trials are done
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    return optuna.pruners.NopPruner()


def _reload(study):
    import optuna

    return optuna.load_study(study_name=study.study_name, storage=study._storage, sampler=study.sampler,
                             pruner=study.pruner)


def _value(trial) -> float | None:
    """The trial's objective, validation MAE, whatever its state: Optuna gives a pruned trial its last
    intermediate value as its value, which is that epoch's validation loss (MSE for the default loss)."""
    if trial.state.name.lower() == "complete":
        return trial.value
    mae = trial.user_attrs.get("val_mae")
    return float(mae) if mae is not None else None


def state_name(state) -> str:
    """A trial state as sweep.json, trial.json, the progress lines and the CLI's table all spell it: complete,
    pruned, failed, running or waiting (Optuna's TrialState names, but "failed" for its FAIL)."""
    name = state.name.lower()
    return "failed" if name == "fail" else name


def _write_trial_file(run_dir: Path, frozen, state: str, reason: str | None) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / TRIAL_FILE, {
        "number": frozen.number, "state": state, "reason": reason, "value": _value(frozen),
        "params": frozen.params, "user_attrs": {k: v for k, v in frozen.user_attrs.items() if k != "reason"},
        "started": frozen.datetime_start.isoformat() if frozen.datetime_start else None,
        "finished": frozen.datetime_complete.isoformat() if frozen.datetime_complete else None,
        "intermediate": {str(k): v for k, v in sorted(frozen.intermediate_values.items())},
    })


# -- results -----------------------------------------------------------------------------------------------


def load_study(out: str | Path, storage: str | None = None, study: str | None = None):
    """The optuna Study of a sweep directory (or of `storage`), by name, or the only one there."""
    import optuna

    out = Path(out)
    url, is_sqlite = storage_url(out, storage)
    if storage is None and not (out / STUDY_DB).is_file():
        raise ForecastlabError("there is no sweep here (no study.db)", where=str(out),
                               fix="give the --out directory of a `forecastlab sweep`, or --storage URL")
    store, _ = open_storage(out, storage)
    names = [s.study_name for s in optuna.get_all_study_summaries(store, include_best_trial=False)]
    if study is None:
        if len(names) != 1:
            raise ForecastlabError(f"the storage holds {len(names)} studies ({', '.join(names) or 'none'})",
                                   where=_safe_url(url), fix="name one with --study")
        study = names[0]
    if study not in names:
        raise ForecastlabError(f"there is no study {study!r}", where=_safe_url(url),
                               fix=f"use one of: {', '.join(names) or '(none)'}")
    return optuna.load_study(study_name=study, storage=store)


def summarize(study, out: str | Path | None = None) -> dict:
    """The study as a dict: counts by state (state_name's words), the best trial (by validation MAE), and every
    trial."""
    plan = study.user_attrs.get("forecastlab") or {}
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append({"number": t.number, "state": state_name(t.state), "value": _value(t),
                     "val_mae": t.user_attrs.get("val_mae"), "test_mae": t.user_attrs.get("test_mae"),
                     "epochs_run": t.user_attrs.get("epochs_run"), "seconds": t.user_attrs.get("seconds"),
                     "params": t.params, "run_dir": t.user_attrs.get("run_dir"),
                     "worker": t.user_attrs.get("worker"),
                     "reason": t.user_attrs.get("reason") or study.user_attrs.get(f"reason-{t.number}")})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    complete = [r for r in rows if r["state"] == "complete" and r["value"] is not None]
    best = min(complete, key=lambda r: r["value"]) if complete else None
    recipe = plan.get("recipe") or {}
    return {"study": study.study_name, "model": (recipe.get("model") or {}).get("name"),
            "trials": plan.get("trials"), "pruner": plan.get("pruner"), "counts": counts,
            "objective": "validation MAE (best epoch); test MAE is recorded, never used to choose",
            "best": best, "space": plan.get("space"), "recipe": recipe, "trial_rows": rows,
            "out": str(out) if out is not None else None}


def write_outputs(study, out: str | Path, summary: dict | None = None) -> dict:
    """sweep.json, best.toml (when a trial completed) and the two plots, in `out`; returns their paths."""
    out = Path(out)
    summary = summary or summarize(study, out)
    paths = {"summary": str(atomic_write_json(out / SUMMARY, summary))}
    if summary["best"] is not None:
        paths["best_recipe"] = str(export_best(study, out / BEST_TOML))
    paths |= write_plots(study, out)
    return paths


def best_recipe(study):
    """The Recipe of the study's best complete trial: the base recipe with that trial's values applied."""
    from forecastlab.training.recipe import Recipe

    plan = study.user_attrs.get("forecastlab")
    if not plan:
        raise ForecastlabError(f"the study {study.study_name!r} was not made by forecastlab sweep", where="study",
                               fix="give the directory of a `forecastlab sweep`")
    try:
        best = study.best_trial
    except ValueError:
        raise ForecastlabError(f"the study {study.study_name!r} has no complete trial yet", where="study",
                               fix="wait for a trial to complete (or look at sweep.json's reasons)") from None
    return apply(Recipe.from_dict(plan["recipe"], where="the study's recipe"), best.params)


def export_best(study_or_out, path: str | Path, *, storage: str | None = None, study: str | None = None) -> Path:
    """Write the best trial's recipe as a TOML file for `forecastlab train --config PATH`."""
    target = study_or_out if hasattr(study_or_out, "best_trial") else load_study(study_or_out, storage, study)
    recipe = best_recipe(target)
    best = target.best_trial
    header = (f"# The best trial ({best.number}, validation MAE {best.value:.6g}) of study {target.study_name!r},\n"
              f"# written by forecastlab sweep. Train it: forecastlab train --config {Path(path).name}\n")
    return atomic_write_text(path, header + recipe_toml(recipe))


def recipe_toml(recipe) -> str:
    """A Recipe as the TOML `forecastlab train --config` reads (tables model, data, window, training)."""
    doc = recipe.as_input().to_dict()
    lines = ["[model]", f"name = {_toml_value(doc['model']['name'])}"]
    params = {k: v for k, v in doc["model"]["params"].items() if v is not None}
    sections = [(name, {k: v for k, v in doc[name].items() if v is not None and k not in ("derived",)})
                for name in ("data", "window", "training")]
    for name, table in sections:
        lines += ["", f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    if params:
        lines += ["", "[model.params]"] + [f"{k} = {_toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def write_plots(study, out: str | Path) -> dict:
    """optimization_history.png and param_importances.png (optuna's matplotlib plots), when there are
    enough complete trials to draw them; {name: path or the reason it is missing}."""
    import matplotlib.pyplot as plt  # optuna's plots draw with pyplot; each figure is closed once saved
    import optuna
    from optuna.visualization import matplotlib as ovm

    out = Path(out)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    made = {}
    for name, draw, need in (("optimization_history", ovm.plot_optimization_history, 1),
                             ("param_importances", ovm.plot_param_importances, 2)):
        path = out / f"{name}.png"
        if len(complete) < need:
            made[name] = f"not drawn: needs {need} complete trial(s), the study has {len(complete)}"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # optuna's "experimental" warning for its matplotlib plots
                ax = draw(study)
            fig = ax.figure if hasattr(ax, "figure") else ax[0].figure
            fig.set_size_inches(8, 4.5)
            fig.tight_layout()
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp.png")
            fig.savefig(tmp, dpi=100)
            plt.close(fig)
            os.replace(tmp, path)
            made[name] = str(path)
        except (ValueError, RuntimeError, ZeroDivisionError) as err:  # e.g. importances of a constant parameter
            made[name] = f"not drawn: {err}"
    return made


def _params_text(values: dict) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v:.4g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                     for k, v in values.items())


def _first_difference(a, b, prefix: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{prefix}{key}.")
        return ""
    return f" ({prefix.rstrip('.')}: {json.dumps(a, default=str)} there, {json.dumps(b, default=str)} here)"


def _safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else url
    return url
