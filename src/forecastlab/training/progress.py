"""What the user sees while a model trains: a live bar per epoch (running loss, MAE, ETA) on a
terminal, and one summary line per epoch everywhere, all on stderr so stdout stays clean for --json."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from forecastlab.console import console as _stderr

# Shown for the running loss and MAE until the first step has finished (rather than "nan").
NO_VALUE = "—"
# Reading the running loss forces a device sync (and a .item()); doing it a few times a second is plenty.
_REFRESH_S = 0.25


class EpochProgress:
    """Report training progress. `enabled=False` is silent; without a terminal only the summary lines
    are printed (a live bar in a log file is noise)."""

    def __init__(self, total_epochs: int, *, enabled: bool = True, console: Console | None = None):
        self.total_epochs = total_epochs
        self.enabled = enabled
        self.console = console or _stderr
        self._bar: Progress | None = None
        self._task = None
        self._last = 0.0

    def __enter__(self) -> EpochProgress:
        if self.enabled and self.console.is_terminal:
            self._bar = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}  mae {task.fields[mae]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start_epoch(self, epoch: int, steps: int) -> None:
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(
                "train", total=steps, epoch=epoch, epochs=self.total_epochs, loss=NO_VALUE, mae=NO_VALUE
            )
            self._last = 0.0

    def step(self, done: int, running: Callable[[], tuple[float, float]]) -> None:
        """`done` steps finished; `running()` gives (loss, mae) so far, called only when the bar redraws."""
        if self._bar is None:
            return
        now = time.perf_counter()
        if now - self._last < _REFRESH_S:
            return
        self._last = now
        loss, mae = running()
        self._bar.update(self._task, completed=done, loss=f"{loss:.4f}", mae=f"{mae:.4f}")

    def end_epoch(self, row: dict, *, best: bool) -> None:
        if not self.enabled:
            return
        self.console.print(format_epoch(row, self.total_epochs, best=best), soft_wrap=True)

    def note(self, message: str) -> None:
        if self.enabled:
            self.console.print(message, soft_wrap=True)


def format_epoch(row: dict, total_epochs: int, *, best: bool = False) -> str:
    """One line per epoch, the numbers Keras prints, plus the learning rate and the epoch time."""
    width = len(str(total_epochs))
    return (
        f"epoch {row['epoch']:>{width}}/{total_epochs}  loss {row['loss']:.4f}  mae {row['mae']:.4f}  "
        f"val_loss {row['val_loss']:.4f}  val_mae {row['val_mae']:.4f}  lr {row['lr']:.2e}  "
        f"{row['seconds']:.1f}s" + ("  * best" if best else "")
    )
