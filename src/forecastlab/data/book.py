"""What Chapter 10 of Deep Learning with Python (2nd ed.) reports on the Jena record, defined once.

The models the chapter trains, in the order forecastlab lists them, and the MAEs (°C) the book prints for
them on the real file. Plain names and numbers with no imports, so every layer can read them: the model
registry orders itself by `BOOK_MODELS`, `reproduce` runs them, the CLI's help lists them, the leaderboard
prints `BOOK_REFERENCE` beside our numbers and the synthetic generator is calibrated to its persistence MAE.
"""

from __future__ import annotations

BOOK_MODELS: tuple[str, ...] = ("dense", "conv1d", "lstm", "lstm_dropout", "gru_stacked", "bilstm", "simple_rnn")

# Validation and test MAE on the real Jena file (None: the book prints none).
BOOK_REFERENCE: dict[str, dict[str, float | None]] = {
    "persistence": {"val_mae": 2.44, "test_mae": 2.62},  # the common-sense baseline, code 10-9
    "dense": {"val_mae": None, "test_mae": 2.6},
    "conv1d": {"val_mae": 2.9, "test_mae": 3.1},
    "lstm": {"val_mae": 2.39, "test_mae": 2.55},
    "lstm_dropout": {"val_mae": 2.27, "test_mae": 2.45},
    "gru_stacked": {"val_mae": None, "test_mae": 2.39},
}
