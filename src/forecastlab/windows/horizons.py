"""Windows in time units: `--lookback 5d --sample-every 1h --horizons 24h`, resolved against the data's
step into the rows that `timeseries_dataset_from_array` counts in.

On the book's 10-minute data the defaults give exactly its 120 x 6 windows and 858-row delay; on
hourly data they give 120 x 1 with the target 24 rows ahead, with no option changed. Horizons are
written as durations or as sampled steps:

    24h              the book's task: one horizon, 24 hours ahead
    6h,12h,24h       a list
    1h-24h           every sampled step from 1 hour to 24 hours (24 horizons at --sample-every 1h)
    1-24             the same in sampled steps (no unit: counted in --sample-every steps)
    1-6,12,24        ranges and single values mixed
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from forecastlab.errors import ForecastlabError

MAX_HORIZONS = 1000  # a bound on what one spec may ask for (each horizon is one output per window)
_UNIT_FREE = re.compile(r"^\d+$")


def parse_duration(text: str, *, arg: str) -> int:
    """A duration such as '5d', '1h', '30min', '90s' or '1h30min', in nanoseconds (> 0)."""
    raw = str(text).strip()
    if _UNIT_FREE.match(raw):
        raise ForecastlabError(f"{arg} {raw!r} has no unit", where=arg,
                               fix="write a duration such as 5d, 1h or 30min")
    try:
        # pandas is retiring the lower-case day unit; people write 5d.
        parsed = pd.Timedelta(re.sub(r"(?<=\d)d(?![a-z])", "D", raw))
    except (ValueError, TypeError, OverflowError):
        parsed = pd.NaT
    if parsed is pd.NaT:  # also 'nan', 'NaT' and '', which pandas reads as a missing duration
        raise ForecastlabError(f"{arg} {raw!r} is not a duration", where=arg,
                               fix="write a duration such as 5d, 1h, 30min or 1h30min")
    ns = parsed.value
    if ns <= 0:
        raise ForecastlabError(f"{arg} must be longer than zero, got {raw!r}", where=arg,
                               fix="write a positive duration such as 1h")
    return int(ns)


def duration_text(ns: int) -> str:
    """'5d', '1h', '10min', '1h30min': a duration as a person writes it."""
    parts, rest = [], int(ns)
    for unit, size in (("d", 86_400 * 10**9), ("h", 3_600 * 10**9), ("min", 60 * 10**9), ("s", 10**9)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    if rest or not parts:
        parts.append(f"{rest}ns")
    return "".join(parts)


def _steps(ns: int, unit_ns: int, what: str, arg: str, unit_text: str, also: str = "") -> int:
    if ns % unit_ns:
        raise ForecastlabError(
            f"{arg} {duration_text(ns)} is not a whole number of {unit_text} steps",
            where=arg, fix=f"use a multiple of {duration_text(unit_ns)} for {what}={also}")
    return ns // unit_ns


def parse_horizons(text: str, *, sample_every_ns: int | None, arg: str = "horizons") -> list[int]:
    """Horizons in sampled steps, sorted and unique, from '24h', '6h,12h,24h', '1h-24h' or '1-24'.

    Durations need `sample_every_ns` (the sampled step); bare numbers are already sampled steps.
    """
    raw = str(text).strip()
    if not raw:
        raise ForecastlabError(f"{arg} is empty", where=arg, fix="e.g. 24h, 1h-24h, 6h,12h,24h or 1-24")
    out: set[int] = set()
    for item in (p.strip() for p in raw.split(",")):
        if not item:
            raise ForecastlabError(f"{arg} {raw!r} has an empty item", where=arg, fix="e.g. 6h,12h,24h")
        if item.startswith("-"):
            raise ForecastlabError(f"{arg} must be ahead of the forecast origin, got {item!r}", where=arg,
                                   fix="e.g. 24h, 1h-24h (a range from 1h to 24h) or 1-24")
        lo_text, dash, hi_text = item.partition("-")
        lo = _horizon_steps(lo_text, sample_every_ns, arg)
        hi = _horizon_steps(hi_text, sample_every_ns, arg) if dash else lo
        if hi < lo:
            raise ForecastlabError(f"{arg} range {item!r} runs backwards", where=arg,
                                   fix=f"write the smaller end first, e.g. {hi_text}-{lo_text}")
        if hi - lo + 1 + len(out) > MAX_HORIZONS:
            raise ForecastlabError(f"{arg} {raw!r} asks for more than {MAX_HORIZONS} horizons", where=arg,
                                   fix="use a coarser --sample-every, or list fewer horizons")
        out.update(range(lo, hi + 1))
    return sorted(out)


def _horizon_steps(text: str, sample_every_ns: int | None, arg: str) -> int:
    text = text.strip()
    if _UNIT_FREE.match(text):
        steps = int(text)
    else:
        if sample_every_ns is None:
            raise ForecastlabError(f"{arg} {text!r} is a duration, but the sampled step is not known", where=arg,
                                   fix="write horizons in sampled steps (e.g. 1-24), or give --sample-every")
        steps = _steps(parse_duration(text, arg=arg), sample_every_ns, "each horizon", arg, "--sample-every")
    if steps < 1:
        raise ForecastlabError(f"{arg} must be at least one step ahead, got {text!r}", where=arg,
                               fix="e.g. 24h or 1-24")
    return steps


@dataclass(frozen=True)
class ResolvedWindow:
    """A window in rows, as the Keras-style engine counts, with the durations it came from."""

    sequence_length: int
    sampling_rate: int
    horizons: tuple[int, ...]  # in sampled steps, ascending
    step_ns: int | None  # the data's row step the durations were resolved against (None: given in rows)

    def describe(self) -> str:
        if self.step_ns is None:
            return f"{self.sequence_length} x {self.sampling_rate} rows, horizons {list(self.horizons)} steps"
        sample = self.sampling_rate * self.step_ns
        return (f"lookback {duration_text(self.sequence_length * sample)} = {self.sequence_length} steps of "
                f"{duration_text(sample)} ({self.sampling_rate} rows of {duration_text(self.step_ns)}), horizons "
                + ", ".join(duration_text(h * sample) for h in self.horizons))


def resolve_window(*, step_ns: int | None, lookback: str | None = "5d", sample_every: str | None = "1h",
                   horizons: str | None = "24h", sequence_length: int | None = None,
                   sampling_rate: int | None = None) -> ResolvedWindow:
    """Rows from durations, against the data's row step `step_ns`; `sequence_length`/`sampling_rate`
    (Keras's row counts) override `lookback`/`sample_every` when given.

    The book on 10-minute data: 5d / 1h / 24h -> 120 x 6, horizon 24 (delay 858 rows).
    """
    for name, value in (("sequence_length", sequence_length), ("sampling_rate", sampling_rate)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ForecastlabError(f"{name} must be a whole number of 1 or more, got {value!r}", where=name,
                                   fix=f"pass {name}=1 or more")
    if sampling_rate is None:
        if step_ns is None:
            raise ForecastlabError("the data's time step is unknown, so --sample-every cannot be turned into rows",
                                   where="sample_every", fix="give sampling_rate in rows (--sampling-rate)")
        sampling_rate = _steps(parse_duration(sample_every, arg="sample_every"), step_ns, "sample_every",
                               "sample_every", f"{duration_text(step_ns)} (the data's)",
                               also=f", or resample the data onto a regular {sample_every} grid with "
                               f"freq='{sample_every}' (each slot the mean of its rows)")
    sample_ns = sampling_rate * step_ns if step_ns is not None else None
    if sequence_length is None:
        if sample_ns is None:
            raise ForecastlabError("the data's time step is unknown, so --lookback cannot be turned into rows",
                                   where="lookback", fix="give sequence_length in steps (--sequence-length)")
        sequence_length = _steps(parse_duration(lookback, arg="lookback"), sample_ns, "lookback", "lookback",
                                 f"{duration_text(sample_ns)} (--sample-every)")
    steps = parse_horizons(horizons, sample_every_ns=sample_ns)
    return ResolvedWindow(int(sequence_length), int(sampling_rate), tuple(steps), step_ns)
