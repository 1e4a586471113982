"""Training throughput: the tf.data pipeline vs in-memory tensors, in one run.

The pipeline (cached per-sample feature files -> cache -> shuffle -> augment
-> batch -> prefetch) should not be the bottleneck: the ratio of training time
per epoch through it to training time from in-memory NumPy tensors should be
at most 1.2. Both train the same ECCNN for the same number of steps; the
median over repeats is reported.

    .venv/bin/python benchmarks/bench_input_pipeline.py [--samples 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "2")  # the machine has 2 cores, shared
os.environ.setdefault("OMP_NUM_THREADS", "2")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-ratio", type=float, default=1.2)
    args = parser.parse_args(argv)

    import numpy as np

    from mer_tf.data.feature_store import FeatureStore, SampleFeatures
    from mer_tf.data.tf_dataset import Augmentation, make_dataset
    from mer_tf.training.config import TrainConfig
    from mer_tf.training.fit import build, configure_tensorflow

    configure_tensorflow(args.threads, 0)
    rng = np.random.default_rng(0)
    n, s = args.samples, args.size
    images = rng.random((n, s, s, 3), dtype=np.float32)
    labels = rng.integers(0, 7, n).astype(np.int32)
    with tempfile.TemporaryDirectory() as tmp:
        # Feature files exactly as FeatureStore writes them (the pipeline's decode path).
        paths = []
        for i in range(n):
            p = Path(tmp) / f"{i:05d}.npz"
            lm = np.zeros((68, 2), np.float32)
            FeatureStore._save(p, SampleFeatures(images[i], lm, lm, True, {"preprocess": 0.0}))
            paths.append(p)
        config = TrainConfig(size=s, batch_size=args.batch_size)
        model = build(config, (s, s, 3))
        steps = n // args.batch_size
        ds = make_dataset(paths, labels, batch_size=args.batch_size, training=True, augmentation=Augmentation(), seed=0)
        ds = ds.take(steps)
        # Warm up both paths (tracing, first-epoch file reads into the cache).
        model.fit(ds, epochs=1, verbose=0, shuffle=False)
        model.fit(images, labels, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=True)
        t_pipe, t_mem = [], []
        for _ in range(args.repeats):  # interleaved, so drift hits both alike
            t0 = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0, shuffle=False)
            t_pipe.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.fit(images[: steps * args.batch_size], labels[: steps * args.batch_size],
                      batch_size=args.batch_size, epochs=1, verbose=0, shuffle=True)  # fmt: skip
            t_mem.append(time.perf_counter() - t0)
    pipe, mem = float(np.median(t_pipe)), float(np.median(t_mem))
    ratio = pipe / mem
    print(f"samples {n}, {s}x{s}x3, batch {args.batch_size}, {steps} steps/epoch, {args.repeats} repeats, {args.threads} TF threads")
    print(f"tf.data pipeline (with augmentation): {pipe:.3f} s/epoch  ({n / pipe:.0f} samples/s)")
    print(f"in-memory tensors (no augmentation):  {mem:.3f} s/epoch  ({n / mem:.0f} samples/s)")
    print(f"ratio pipeline / in-memory: {ratio:.2f} (target <= {args.max_ratio})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
