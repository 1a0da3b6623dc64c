"""What the sweep tests share: a tiny search space, the CLI arguments of a tiny sweep, reading workers' output."""

from __future__ import annotations

SPACE = ('[common]\n"model.params.units" = { low = 2, high = 8 }\n'
         '"training.lr" = { low = 1e-4, high = 1e-2, log = true }\n')


def sweep_args(out, trials, *extra, epochs=2):
    return ["sweep", "lstm", "--data", "j.csv", "--lookback", "1d", "--horizons", "6h", "--batch-size", "64",
            "--epochs", str(epochs), "--max-steps-per-epoch", "3", "--trials", str(trials), "--space", "space.toml",
            "--out", str(out), "--heartbeat", "1", *extra]


def started_trials(stderr: str) -> list[int]:
    return [int(line.split()[1].rstrip(":")) for line in stderr.splitlines()
            if line.startswith("trial ") and not line.split(":", 1)[1].strip().startswith(
                ("complete", "pruned", "failed", "marked"))]


def finish(proc, timeout=240):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err
