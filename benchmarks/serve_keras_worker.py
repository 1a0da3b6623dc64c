"""The Keras half of benchmarks/serve.py: model.predict throughput of the book's LSTM on random windows.

    .keras-venv/bin/python benchmarks/serve_keras_worker.py [--windows 8192] [--units 32] \
        [--batch-sizes 256,1024] [--repeats 3] --json out.json

Runs in its own venv (scripts/keras-venv.sh) and never imports forecastlab. The model is the book's
recurrent baseline with random weights, keras.Sequential([Input((120, 14)), LSTM(units), Dense(1)]);
the windows are standard-normal float32 (what a normalized input looks like). Per batch size: one untimed
model.predict over all windows (it traces the predict function), then the best of `--repeats` timed
passes, as samples/s. TensorFlow keeps its default threads (0 = one per core).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=8192)
    ap.add_argument("--sequence-length", type=int, default=120)
    ap.add_argument("--features", type=int, default=14)
    ap.add_argument("--units", type=int, default=32)
    ap.add_argument("--batch-sizes", default="256")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", required=True)
    args = ap.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((args.windows, args.sequence_length, args.features),
                                                 dtype=np.float32)
    model = keras.Sequential([keras.Input((args.sequence_length, args.features)), keras.layers.LSTM(args.units),
                              keras.layers.Dense(1)])
    results = {}
    for bs in (int(b) for b in args.batch_sizes.split(",") if b):
        model.predict(x, batch_size=bs, verbose=0)  # traces and warms up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = model.predict(x, batch_size=bs, verbose=0)
            times.append(time.perf_counter() - t0)
        assert out.shape == (args.windows, 1) and np.isfinite(out).all()
        best = min(times)
        results[str(bs)] = {"best_s": best, "times_s": times, "samples_per_s": args.windows / best}
    c = tf.config.threading
    report = {"batch_sizes": results, "params": int(model.count_params()), "windows": args.windows,
              "keras": keras.__version__, "tensorflow": tf.__version__, "python": platform.python_version(),
              "tf_threads": {"intra": c.get_intra_op_parallelism_threads(),
                             "inter": c.get_inter_op_parallelism_threads()}}
    with open(args.json, "w") as fh:
        json.dump(report, fh, indent=1)
    return report


if __name__ == "__main__":
    main()
