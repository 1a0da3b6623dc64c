"""A trained run as a portable artifact: one self-contained directory that any machine with forecastlab can
load and forecast with, without the run directory or its data.

    artifact/
      manifest.json        the format, the forecastlab version, and the sha256 and size of every other file
      artifact.json        the run's whole recipe (config.json: model, window, horizons, features and their
                           transforms, normalization statistics, target and units, head), its scores and
                           interval calibration (metrics.json), the data provenance, the source run
      weights.safetensors  a torch model's best weights, as plain tensors (never pickle)
      model/               a non-torch model's own files instead (lightgbm: estimator.json and its text
                           boosters; an ensemble: ensemble.json and each member as an artifact of its own)
      model.onnx           with export(..., onnx=True): the torch model with its normalization, for ONNX runtimes

A saved classifier or event detector (forecastlab classify / events --out) is exported the same way
(export_classifier): its classifier.json and weights.safetensors as saved, beside artifact.json (kind
"classifier") and the manifest; load_classifier_artifact checks the manifest before reading it.

Loading (load_artifact) checks the manifest before anything else: a file missing, added, truncated or
changed, a link, or an artifact of a newer format is refused with an error naming the file. Nothing in
an artifact chooses code: the model class comes from forecastlab's registry by the recorded name, the
weights are tensors read by safetensors, a lightgbm booster is its own text format.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from forecastlab.errors import ForecastlabError

FORMAT = "forecastlab-artifact"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
META = "artifact.json"
WEIGHTS = "weights.safetensors"
MODEL_DIR = "model"
ONNX = "model.onnx"
MAX_FILES = 20_000
MAX_FILE_BYTES = 4 << 30  # a file of an artifact; far above any model here
MAX_JSON_BYTES = 64 << 20  # manifest.json, artifact.json

_FIX = "export the run again (forecastlab export RUN_DIR --out ARTIFACT), or restore the artifact from a copy"


def is_artifact(path: str | Path) -> bool:
    """Whether `path` is a directory holding an artifact's manifest (a run directory holds config.json)."""
    path = Path(path)
    return path.is_dir() and (path / MANIFEST).is_file()


def enclosing_artifact(path: str | Path) -> Path | None:
    """The artifact a new file or folder at `path` would land inside (an artifact holds exactly the files its
    manifest lists, so nothing may be added to it), or None."""
    return next((parent for parent in Path(path).absolute().parents if is_artifact(parent)), None)


# -- export --------------------------------------------------------------------------------------------------


def export(path: str | Path, out: str | Path, *, onnx: bool = False, overwrite: bool = False) -> Path:
    """export_run for a run directory, export_classifier for a saved classifier or event detector (a folder
    with classifier.json, from forecastlab classify / events --out): what `forecastlab export` does."""
    if is_classifier(path):
        if onnx:
            raise ForecastlabError("ONNX export is for forecasters; this folder holds a classifier", where=str(path),
                                   arg="onnx", fix="export it without onnx (the --onnx flag)")
        return export_classifier(path, out, overwrite=overwrite)
    return export_run(path, out, onnx=onnx, overwrite=overwrite)


def is_classifier(path: str | Path) -> bool:
    """Whether `path` holds a saved classifier or event detector (classifier.json), exported or not."""
    from forecastlab.tasks.classification import META as CLASSIFIER

    return Path(path).is_dir() and (Path(path) / CLASSIFIER).is_file()


def export_run(run_dir: str | Path, out: str | Path, *, onnx: bool = False, overwrite: bool = False) -> Path:
    """Write the artifact of the finished run `run_dir` to the new directory `out` (see the module).

    The run is loaded (and so checked) first; the artifact is built in a temporary directory beside `out`
    and moved into place whole, so `out` is either the complete artifact or absent. An existing `out` is
    refused unless overwrite=True, and even then only an artifact is replaced, never another directory.
    onnx=True also writes model.onnx (torch models; needs the `onnx` package), checked against torch.
    """
    from forecastlab.training import load_run

    run_dir, out = Path(run_dir), Path(out)
    _check_out(out, overwrite)
    run = load_run(run_dir)
    if not run.metrics.get("test_mae") and run.metrics.get("test_mae") != 0:
        raise ForecastlabError("the run has not finished: metrics.json has no test score", where=str(run_dir),
                               fix="let the training finish (forecastlab train ... --resume continues it)")
    return _publish(out, lambda staging: _write_tree(run, staging, onnx=onnx))


def export_classifier(folder: str | Path, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the artifact of a saved classifier or event detector (`folder`: classifier.json and its
    safetensors weights) to the new directory `out`: those two files as saved, artifact.json (kind
    "classifier": what it classifies from which input, its scores, where it came from, the versions) and
    the manifest. The classifier is loaded (and so checked) first; `out` is written as export_run writes,
    and load_classifier_artifact (or `serve`, `classify --run`, `events --run`) reads it back."""
    from forecastlab import __version__
    from forecastlab.tasks.classification import META as CLASSIFIER
    from forecastlab.tasks.classification import WEIGHTS as CLASSIFIER_WEIGHTS
    from forecastlab.tasks.classification import load_classifier
    from forecastlab.training import run_dir as rd

    folder, out = Path(folder), Path(out)
    _check_out(out, overwrite)
    classifier = _load_checked_classifier(folder)

    def build(staging: Path) -> None:
        for name in (CLASSIFIER, CLASSIFIER_WEIGHTS):
            shutil.copyfile(folder / name, staging / name)
        load_classifier(staging)  # the copies read back as the original did
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "created": datetime.now(UTC).isoformat(timespec="seconds"), "forecastlab": __version__,
                "versions": rd.versions(), "kind": "classifier",
                "source": {"folder": str(folder.resolve()), "classifier_sha256": _sha256_file(folder / CLASSIFIER)},
                "summary": classifier_summary(classifier)}
        (staging / META).write_text(json.dumps(meta, indent=1, allow_nan=False))

    return _publish(out, build)


def classifier_summary(classifier) -> dict:
    """A classifier in plain words: its model, task, classes, what an input must hold, its split scores."""
    metrics = classifier.metrics
    return {"model": classifier.module.get_config()["name"], "task": classifier.task.get("kind"),
            "classes": classifier.classes, "input": classifier.requirements(),
            "val": metrics.get("val"), "test": metrics.get("test"), "data": metrics.get("data")}


def _load_checked_classifier(folder: Path):
    from forecastlab.tasks.classification import load_classifier

    if is_artifact(folder):
        return load_classifier_artifact(folder)
    return load_classifier(folder)


def _publish(out: Path, build) -> Path:
    """Run build(staging) in a temporary directory beside `out`, write its manifest, and move it into place
    whole (replacing an artifact already checked by _check_out)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        build(staging)
        _write_manifest(staging)
        if out.exists():  # overwrite=True, and _check_out made sure it is an artifact
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _check_out(out: Path, overwrite: bool) -> None:
    if out.is_symlink() or out.is_file():
        raise ForecastlabError("the artifact's path is a file or a link", where=str(out), arg="out",
                               fix="give a new directory name, e.g. --out artifacts/lstm")
    parent = enclosing_artifact(out)
    if parent is not None:
        raise ForecastlabError(f"the artifact's path is inside the artifact {parent}, which would then fail "
                               "its manifest check", where=str(out), arg="out",
                               fix="give a directory outside any artifact, e.g. --out artifacts/lstm")
    if out.exists():
        if not overwrite:
            raise ForecastlabError("the artifact directory already exists", where=str(out), arg="out",
                                   fix="give a new directory, or pass overwrite=True to replace the artifact")
        if not is_artifact(out):
            raise ForecastlabError("the directory exists and is not a forecastlab artifact; it is never replaced",
                                   where=str(out), arg="out", fix="give a new directory name")


def _write_tree(run, root: Path, *, onnx: bool) -> None:
    from forecastlab import __version__
    from forecastlab.models.contract import Estimator
    from forecastlab.training import run_dir as rd

    model = run.model
    kind = "ensemble" if getattr(model, "kind", "") == "ensemble" else \
        "estimator" if isinstance(model, Estimator) else "torch"
    if kind == "torch":
        _write_weights(run, root / WEIGHTS)
    elif kind == "estimator":
        _copy_folder(run.run_dir / rd.MODEL_DIR, root / MODEL_DIR)
    else:
        _write_ensemble(run, root / MODEL_DIR)
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "forecastlab": __version__, "versions": rd.versions(), "kind": kind,
        "source": {"run_dir": str(run.run_dir.resolve()), "config_sha256": _sha256_file(run.run_dir / rd.CONFIG)},
        "summary": summary(run), "config": run.config, "metrics": run.metrics,
    }
    if onnx:
        from forecastlab.deploy.onnx import export_onnx

        meta["onnx"] = export_onnx(run, root / ONNX)
    (root / META).write_text(json.dumps(meta, indent=1, allow_nan=False))


def summary(run) -> dict:
    """What a user of the model needs to know, in plain words: what it forecasts, how far ahead, from how
    much history in which columns, and its scores (GET /model, `forecastlab runs show`)."""
    from forecastlab.deploy.fresh import requirements, step_seconds
    from forecastlab.windows.horizons import duration_text

    data = run.config.get("data") or {}
    need = requirements(run)
    step = step_seconds(run.config)
    steps = [int(s) for s in run.spec.steps]
    ahead = [duration_text(int(round(step * 1e9 * run.sampling_rate * s))) if step else None for s in steps]
    calibration = run.calibration
    return {
        "model": run.config["model"]["name"], "target": data.get("target"), "unit": data.get("target_unit"),
        "horizons": steps, "ahead": ahead, "sequence_length": run.sequence_length,
        "sampling_rate": run.sampling_rate, "step_seconds": step,
        # an input's rows: the window's, and the history its derived tendency columns look back over
        "rows_needed": need["rows"], "window_rows": need["window_rows"], "history_rows": need["history_rows"],
        "input_columns": data.get("source_columns") or data.get("columns"), "model_columns": data.get("columns"),
        "quantiles": list(run.head.loss.quantiles) if getattr(run.head.loss, "quantiles", None) else None,
        "interval": {"method": calibration.method, "level": calibration.level} if calibration else None,
        "val_mae": run.metrics.get("val_mae"), "test_mae": run.metrics.get("test_mae"),
        "data": (data.get("provenance") or {}),
    }


def _write_weights(run, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous().clone() for k, v in run.model.state_dict().items()}
    save_file(state, str(path), metadata={"format": FORMAT, "model": run.config["model"]["name"]})


def _copy_folder(source: Path, dest: Path) -> None:
    from forecastlab.training.ensemble_model import listing

    files, _ = listing(source)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target)


def _write_ensemble(run, folder: Path) -> None:
    """ensemble.json as the run saved it, with each member exported as an artifact under members/NN and
    its recorded files (and their sha256) those of the member's artifact."""
    from forecastlab.training import run_dir as rd
    from forecastlab.training.ensemble_model import MEMBERS, Ensemble, listing

    source = run.run_dir / rd.MODEL_DIR
    meta = json.loads((source / Ensemble.META).read_text())
    folder.mkdir(parents=True)
    for i, (member, entry) in enumerate(zip(run.model.members_, meta["members"], strict=True)):
        member_root = folder / MEMBERS / f"{i:02d}"
        member_root.parent.mkdir(parents=True, exist_ok=True)
        member_root.mkdir()
        _write_tree(member, member_root, onnx=False)
        _write_manifest(member_root)
        files, _ = listing(member_root)
        entry["files"] = {rel: _sha256_file(member_root / rel) for rel in files}
    (folder / Ensemble.META).write_text(json.dumps(meta, indent=1, allow_nan=False))


def _write_manifest(root: Path) -> None:
    from forecastlab import __version__
    from forecastlab.training.ensemble_model import listing

    files, _ = listing(root)
    entries = {rel: {"sha256": _sha256_file(root / rel), "bytes": (root / rel).stat().st_size}
               for rel in files if rel != MANIFEST}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "forecastlab": __version__, "files": entries}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- load -------------------------------------------------------------------------------------------------


def verify(path: str | Path) -> dict:
    """The artifact's manifest, after checking that the directory holds exactly the files it lists, each
    with its size and sha256, none a link or a special file (artifact.json among them)."""
    from forecastlab.training.ensemble_model import listing

    root = Path(path)
    if root.is_symlink() or not root.is_dir():
        raise ForecastlabError("the artifact is not a directory" if root.exists() else "the artifact does not exist",
                               where=str(root), fix="pass the directory `forecastlab export` wrote")
    manifest = _read_json(root / MANIFEST, "the artifact's manifest")
    if manifest.get("format") != FORMAT:
        raise ForecastlabError(f"{MANIFEST} is not a forecastlab artifact's (format {manifest.get('format')!r})",
                               where=str(root / MANIFEST), fix="pass the directory `forecastlab export` wrote")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ForecastlabError(f"{MANIFEST} has no valid format_version ({version!r})", where=str(root / MANIFEST),
                               fix=_FIX)
    if version > FORMAT_VERSION:
        raise ForecastlabError(
            f"the artifact has format {version}, made by forecastlab {manifest.get('forecastlab')!r}; this "
            f"forecastlab reads formats up to {FORMAT_VERSION}", where=str(root / MANIFEST),
            fix="upgrade forecastlab (pip install -U forecastlab), or export the run with this version")
    recorded = manifest.get("files")
    if not isinstance(recorded, dict) or not 1 <= len(recorded) <= MAX_FILES or not all(
            isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("bytes"), int)
            for e in recorded.values()):
        raise ForecastlabError(f"{MANIFEST}'s file list is missing or damaged", where=f"{root / MANIFEST}, key files",
                               fix=_FIX)
    found, _ = listing(root)
    found = [f for f in found if f != MANIFEST]
    extra, missing = sorted(set(found) - set(recorded)), sorted(set(recorded) - set(found))
    if extra:
        raise ForecastlabError(f"the artifact holds {extra[0]!r}, which its manifest does not list (an added or "
                               "renamed file)", where=str(root / extra[0]), fix=_FIX)
    if missing:
        raise ForecastlabError(f"the artifact lacks {missing[0]!r}, which its manifest lists",
                               where=str(root / missing[0]), fix=_FIX)
    if META not in recorded:
        raise ForecastlabError(f"the artifact has no {META}", where=str(root / META), fix=_FIX)
    for rel, entry in sorted(recorded.items()):
        file = root / rel
        size = file.stat().st_size
        if size != entry["bytes"]:
            raise ForecastlabError(
                f"{rel} is {size:,} bytes but the manifest records {entry['bytes']:,} (the file was "
                f"{'truncated' if size < entry['bytes'] else 'changed'})", where=str(file), fix=_FIX)
        if size > MAX_FILE_BYTES:
            raise ForecastlabError(f"{rel} is larger than an artifact's file can be", where=str(file), fix=_FIX)
        if _sha256_file(file) != entry["sha256"]:
            raise ForecastlabError(f"{rel} does not match the sha256 its manifest records (the file was changed)",
                                   where=str(file), fix=_FIX)
    return manifest


def load_artifact(path: str | Path, device: str | None = "cpu"):
    """The artifact at `path` as a forecastlab.training.LoadedRun: the same object load_run gives for a run
    directory, so predict, forecast_table, evaluate_run and the service work on either."""
    from forecastlab.evaluation.intervals import Calibration
    from forecastlab.models.contract import Estimator
    from forecastlab.models.head import Head
    from forecastlab.training.device import select_device
    from forecastlab.training.loading import LoadedRun, _normalizer, _spec, rebuild_model
    from forecastlab.training.schema import validate_config

    root = Path(path)
    verify(root)
    meta = _read_json(root / META, "the artifact's metadata")
    if meta.get("kind") == "classifier":
        raise ForecastlabError("this artifact holds a classifier or event detector, not a forecaster",
                               where=str(root), fix="serve it (forecastlab serve), or use forecastlab classify --run "
                               "/ events --run with it (Python: load_classifier_artifact)")
    try:
        kind, raw_config, metrics = meta["kind"], meta["config"], dict(meta.get("metrics") or {})
    except (KeyError, TypeError):
        raise ForecastlabError(f"{META} lacks its kind or config", where=str(root / META), fix=_FIX) from None
    if kind not in ("torch", "estimator", "ensemble"):
        raise ForecastlabError(f"{META} names an unknown model kind {kind!r}", where=f"{root / META}, key kind",
                               fix=_FIX)
    config = validate_config(raw_config, root / META)
    model = rebuild_model(config, root)
    if kind == "torch":
        if isinstance(model, Estimator):
            raise ForecastlabError(f"{META} says a torch model but the config names the estimator "
                                   f"{config['model']['name']!r}", where=f"{root / META}, key kind", fix=_FIX)
        _load_weights(model, root / WEIGHTS)
        model.to(select_device(device)).eval()
    elif kind == "ensemble":
        model = type(model).load(root / MODEL_DIR, load_member=lambda member: load_artifact(member, device=device))
    else:
        model = type(model).load(root / MODEL_DIR)
    calibration = None
    if metrics.get("intervals"):
        try:
            calibration = Calibration.from_dict(metrics["intervals"])
        except (KeyError, TypeError, ValueError) as err:
            raise ForecastlabError(f"{META}'s interval calibration is damaged ({err})",
                                   where=f"{root / META}, key metrics.intervals", fix=_FIX) from None
    return LoadedRun(model, config, _normalizer(config), _spec(config), root, metrics,
                     Head.from_dict(config.get("head")), calibration)


def load_classifier_artifact(path: str | Path):
    """The classifier of an artifact written by export_classifier, after the manifest check (verify): the
    same Classifier that forecastlab.tasks.classification.load_classifier gives for the saved folder."""
    from forecastlab.tasks.classification import load_classifier

    root = Path(path)
    verify(root)
    meta = _read_json(root / META, "the artifact's metadata")
    if meta.get("kind") != "classifier":
        raise ForecastlabError(f"the artifact holds a {meta.get('kind')!r} model, not a classifier", where=str(root),
                               fix="pass a classifier's artifact; forecasters are read by load_artifact")
    return load_classifier(root)


def open_classifier(path: str | Path):
    """A saved classifier folder or a classifier artifact, whichever `path` is (the artifact's manifest
    is checked first), as a Classifier."""
    if is_artifact(path):
        return load_classifier_artifact(path)
    from forecastlab.tasks.classification import load_classifier

    return load_classifier(path)


def load_model(path: str | Path, device: str | None = "cpu"):
    """A run directory or an artifact, whichever `path` is, as a LoadedRun."""
    if is_artifact(path):
        return load_artifact(path, device=device)
    from forecastlab.training import load_run

    return load_run(path, device=device)


def _load_weights(model, path: Path) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load

    from forecastlab.training.checkpoint import load_weights

    try:
        state = load(path.read_bytes())
    except (SafetensorError, ValueError, OSError) as err:
        raise ForecastlabError(f"{path.name} cannot be read as safetensors ({err})", where=str(path),
                               fix=_FIX) from None
    load_weights(model, state, path, key="weights")


def _read_json(path: Path, what: str) -> dict:
    if path.is_symlink() or not path.is_file():
        raise ForecastlabError(f"{what} ({path.name}) is missing, so this is not a forecastlab artifact",
                               where=str(path), fix="pass the directory `forecastlab export` wrote")
    with open(path, "rb") as fh:
        data = fh.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ForecastlabError(f"{path.name} is larger than {MAX_JSON_BYTES >> 20} MiB", where=str(path), fix=_FIX)
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise ForecastlabError(f"{path.name} is not valid JSON ({err})", where=str(path), fix=_FIX) from None
    if not isinstance(value, dict):
        raise ForecastlabError(f"{path.name} is not a JSON object", where=str(path), fix=_FIX)
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")
