"""config.json: everything needed to rebuild a run (model, windows, data, normalization, training
options, software versions), and the check that a resumed run is the same run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from torch import nn

from forecastlab.errors import ForecastlabError
from forecastlab.training.run_dir import versions
from forecastlab.training.schema import CONFIG_FORMAT  # re-exported: the format config.json is written in

# What must match for `--resume` to continue the same run; epochs may grow (train longer).
_RESUME_KEYS = (
    ("model", "name"), ("model", "class"), ("model", "config"), ("window",),
    ("training", "optimizer"), ("training", "lr"), ("training", "seed"), ("training", "lr_schedule"),
    ("training", "early_stopping"), ("training", "max_steps_per_epoch"), ("normalizer",), ("head",),
    ("training", "loss"), ("training", "interval_level"), ("training", "weight_decay"), ("training", "clip_norm"),
    ("training", "nproc"),
)


def resolve_model(model: nn.Module | str, datasets, params: dict | None, *, n_outputs: int = 1
                  ) -> tuple[nn.Module, str | None]:
    """(module, registry name) for a model given by name (built for these datasets, with `n_outputs` per
    window) or as a module (which must already produce them)."""
    if isinstance(model, str):
        from forecastlab.models import build_model

        spec = getattr(datasets, "spec", None)
        seq_len = getattr(spec, "sequence_length", None)
        return build_model(model, n_features(datasets), sequence_length=seq_len, n_outputs=n_outputs,
                           **(params or {})), model
    have = getattr(model, "n_outputs", 1)
    if have != n_outputs:
        raise ForecastlabError(
            f"the model produces {have} output(s) per window, but the horizons and the loss need {n_outputs}",
            arg="model", fix="pass the model by name (it is then built with the right head), or call "
            f"model.with_outputs({n_outputs}) first")
    if params:
        raise ForecastlabError(
            "model parameters were given for a model that is already built",
            where="train(model=<nn.Module>, model_params=...)",
            fix="pass the model by name to build it with these parameters, or drop model_params",
        )
    return model, registry_name(model)


def registry_name(model: nn.Module) -> str | None:
    """The name `model` is registered under, when its config says so or its class is registered."""
    cfg = model_config(model) or {}
    if isinstance(cfg.get("name"), str):
        return cfg["name"]
    try:
        from forecastlab.models import MODELS
    except ImportError:
        return None
    names = [name for name, cls in MODELS.items() if cls is type(model)]
    return names[0] if len(names) == 1 else None


def model_config(model: nn.Module) -> dict | None:
    get = getattr(model, "get_config", None)
    return get() if callable(get) else None


def count_params(model: nn.Module) -> int:
    try:
        from forecastlab.models import count_params as registry_count
    except ImportError:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    return int(registry_count(model))


def n_features(datasets) -> int:
    """Input columns of the windows: from the train data when it is exposed, else from one batch."""
    data = getattr(datasets.train, "data", None)
    if data is not None and getattr(data, "ndim", 0) == 2:
        return int(data.shape[1])
    x, _ = next(iter(datasets.val))
    return int(x.shape[-1])


def window_config(datasets) -> dict:
    spec = getattr(datasets, "spec", None)
    out = {}
    if spec is not None:
        out = spec.to_dict() if hasattr(spec, "to_dict") else dict(vars(spec))
        delay = getattr(spec, "delay", None)
        if delay is not None:
            out["delay"] = int(delay)
    out["batch_size"] = getattr(datasets.train, "batch_size", None)
    out["train_shuffle_seed"] = getattr(datasets.train, "seed", None)
    return out


def data_config(datasets, extra: dict | None) -> dict:
    """What the data was: taken from the datasets where they carry it, completed by extra['data']."""
    out = {}
    for key in ("target", "target_unit", "columns", "features", "units", "provenance", "sizes"):
        value = getattr(datasets, key, None)
        if value is not None:
            out[key] = value.to_dict() if hasattr(value, "to_dict") else value
    out.update((extra or {}).get("data", {}))
    return out


def describe_series(series) -> dict:
    """What config.json records about a forecastlab Series: where it came from and what it holds.

    Pass it as train(..., extra_config={"data": describe_series(series)}).
    """
    provenance = series.provenance.to_dict()
    if provenance.get("source") == "file" and provenance.get("path"):
        # Absolute, so the run can find (and check) its data from any working directory.
        provenance["path"] = str(_resolved(provenance["path"]))
    return {
        "provenance": provenance,
        "target": series.target,
        "target_unit": series.target_unit,
        "columns": list(series.columns),
        "units": list(series.units),
        "rows": len(series),
        "first_timestamp": str(series.timestamps[0]) if len(series) else None,
        "last_timestamp": str(series.timestamps[-1]) if len(series) else None,
        # What a forecast from fresh data checks its input against (forecastlab.deploy.fresh): the time
        # step, and the columns read from the file before any derived ones were added.
        "step_seconds": series.step_ns / 1e9 if series.step_ns else None,
        "time_column": (series.quality.get("format") or {}).get("time_column"),
        # How dates like 05/03/2024 were read (True: day first): a forecast's input is read the same way.
        "day_first": (series.quality.get("time") or {}).get("day_first"),
        # How the times were written: null for naive ones, else their zone ('UTC', '+01:00'); a forecast's
        # input must be written the same way (forecastlab.deploy.fresh refuses a naive/zoned mix).
        "time_zone": (series.quality.get("time") or {}).get("zone"),
        "source_columns": ((series.quality.get("features") or {}).get("source_columns") or list(series.columns)),
    }


def data_changed(config: dict, series) -> str | None:
    """Why `series` is not the data the run was trained on although it comes from the same file
    (its sha256 differs from the one config.json recorded), or None when it is the same or another file.

    Only the same path counts: forecasting from new data in another file is the normal use of a run.
    """
    saved = (config.get("data") or {}).get("provenance") or {}
    now = series.provenance
    if not saved.get("sha256") or not now.sha256 or saved["sha256"] == now.sha256:
        return None
    if not saved.get("path") or not now.path or _resolved(saved["path"]) != _resolved(now.path):
        return None
    return (f"the data file has changed since the run was trained: its sha256 is now {now.sha256}, "
            f"the run was trained on sha256 {saved['sha256']}")


def _resolved(path: str) -> Path:
    return Path(path).expanduser().resolve()


def build_config(model, model_name, datasets, *, epochs, optimizer, lr, seed, early_stopping, lr_schedule,
                 max_steps_per_epoch, device, extra, head=None, interval_level=0.8) -> dict:
    normalizer = getattr(datasets, "normalizer", None)
    cls = type(model)
    config = {
        "format": CONFIG_FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "model": {
            "name": model_name,
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "config": model_config(model),
            "params": count_params(model),
        },
        "window": window_config(datasets),
        "training": {
            "epochs": epochs, "optimizer": optimizer, "lr": lr, "seed": seed,
            "loss": head.loss.spec if head is not None else "mse", "metric": "mae",
            "target_transform": head.target.kind if head is not None else "none",
            "interval_level": interval_level,
            "early_stopping": early_stopping, "lr_schedule": lr_schedule,
            "max_steps_per_epoch": max_steps_per_epoch, "device": str(device),
        },
        "data": data_config(datasets, extra),
        "normalizer": normalizer.to_dict() if normalizer is not None and hasattr(normalizer, "to_dict") else None,
        "head": head.to_dict() if head is not None else None,
        "extra": {k: v for k, v in (extra or {}).items() if k != "data"},
    }
    # Round-trip through JSON now, so the config compared on resume is exactly what the file holds.
    return json.loads(json.dumps(config, default=str))


def check_resume_config(saved: dict, new: dict, run_dir: Path) -> None:
    """Refuse to resume a run with different settings: the result would be neither run."""
    diffs = []
    for path in _RESUME_KEYS:
        a, b = _get(saved, path), _get(new, path)
        if a != b:
            diffs.append(f"{'.'.join(path)}: saved {_short(a)}, now {_short(b)}")
    if diffs:
        raise ForecastlabError(
            "cannot resume: this run was started with different settings (" + "; ".join(diffs) + ")",
            where=str(Path(run_dir) / "config.json"),
            fix="resume with the original settings (the CLI reads them from config.json), or start a new run",
        )


def _get(d: dict, path: tuple[str, ...]):
    for key in path:
        d = d.get(key) if isinstance(d, dict) else None
    return d


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
