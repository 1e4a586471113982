"""Training speed of the region layers: per-region convolutions vs the vectorized path, in one run.

  .venv/bin/python benchmarks/bench_region_layer.py [--models eccnn drml] [--size 28] [--epochs 6] [--repeats 3]
  .venv/bin/python benchmarks/bench_region_layer.py --models --fold --data /path/to/megc2019  # one DRML LOSO fold

Builds each model as training does (`mer_tf.training.fit.build`: Adam, NLL
loss, configs/megc2019.yaml's settings: 3 classes, 3-channel flow images,
batch 32, ECCNN with 3 pooling layers and the region layer on) on random
data of the MEGC 2019 composite's training-fold size (399 samples), once
with the layer's per-region convolutions in training (the path before the
vectorized one; inference and export always use it) and once vectorized,
alternating; ECCNN also without the region layer (the layer's own cost).
Prints the median wall and CPU seconds per epoch (the first, tracing,
epoch left out) of `repeats` fits and their ratios, with the load average:
the machine is shared (CPU time is what an epoch costs when others are
busy), and TensorFlow runs on 1 thread as in `mer loso`.

`--fold` also times one whole LOSO fold of DRML with `fit_model` as `mer
loso` runs it (a fresh model each time, so tracing is included), on the
release given by `--data` or, without it, on a generated synthetic set
(labelled synthetic).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PATHS = ("per-region", "vectorized")


def epoch_seconds(config, size: int, samples: int, epochs: int, vectorized: bool) -> tuple[float, float]:
    """Median wall and CPU seconds of epochs 2.. of one fit on random data (epoch 1 traces the graph)."""
    import keras
    import numpy as np

    from mer_tf.layers import LocalRegionLayer
    from mer_tf.training.fit import build

    LocalRegionLayer._vectorized_training = vectorized  # read when fit traces the train step
    try:
        model = build(config, (size, size, 3))
        rng = np.random.default_rng(0)
        x = rng.normal(size=(samples, size, size, 3)).astype("float32")
        y = rng.integers(0, len(config.class_names), size=samples)
        walls: list[float] = []
        cpus: list[float] = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0, self.c0 = time.perf_counter(), time.process_time()

            def on_epoch_end(self, epoch, logs=None):
                walls.append(time.perf_counter() - self.t0)
                cpus.append(time.process_time() - self.c0)

        model.fit(x, y, batch_size=config.batch_size, epochs=epochs, verbose=0, callbacks=[Timer()])
    finally:
        LocalRegionLayer._vectorized_training = True
    return statistics.median(walls[1:]), statistics.median(cpus[1:])


def fold_seconds(config, tmp: Path, vectorized: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds and epochs of LOSO fold 0 of `config`, trained as `mer loso` trains it."""
    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.layers import LocalRegionLayer
    from mer_tf.training import fit as fit_module
    from mer_tf.training.fit import configure_tensorflow, fit_model
    from mer_tf.training.loso import make_folds
    from mer_tf.training.samples import load_samples

    samples = load_samples(config)
    store = FeatureStore(config.input_spec(), config.cache_dir)
    store.ensure(samples, progress=False)
    fold = make_folds(config, samples)[0]
    fit_module._REUSABLE.clear()  # the other path's traced model must not be reused
    LocalRegionLayer._vectorized_training = vectorized
    try:
        configure_tensorflow(1, config.seed)
        t0, c0 = time.perf_counter(), time.process_time()
        _, hist = fit_model(config, fold["train"], fold["val"], store, tmp / f"work-{vectorized}-{time.time_ns()}",
                            light=True)
    finally:
        LocalRegionLayer._vectorized_training = True
        fit_module._REUSABLE.clear()
    return time.perf_counter() - t0, time.process_time() - c0, hist["epochs_run"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=["eccnn", "drml"], choices=("eccnn", "drml"),
                        help="models whose epochs are timed (none: only --fold)")
    parser.add_argument("--size", type=int, default=28, help="input side in pixels")
    parser.add_argument("--samples", type=int, default=399, help="training samples per epoch")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per fit (the first one is not timed)")
    parser.add_argument("--repeats", type=int, default=3, help="fits per path; the median is reported")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip ECCNN without the region layer (the layer's own cost)")
    parser.add_argument("--fold", action="store_true", help="also time one DRML LOSO fold per path")
    parser.add_argument("--data", help="with --fold: the MEGC 2019 release (default: a generated synthetic set)")
    args = parser.parse_args(argv)
    if args.epochs < 2 or args.repeats < 1:
        parser.error(f"--epochs must be >= 2 and --repeats >= 1. "
                     f"Received: --epochs {args.epochs} --repeats {args.repeats}")

    from mer_tf.training import TrainConfig
    from mer_tf.training.fit import configure_tensorflow

    configure_tensorflow(1, 0)
    base = TrainConfig.from_file(Path(__file__).resolve().parents[1] / "configs" / "megc2019.yaml")
    if args.models:
        print(f"region layer training speed, {args.size}px, batch {base.batch_size}, {args.samples} random samples, "
              f"1 thread, median of {args.repeats} fits x {args.epochs - 1} timed epochs")
    for name in args.models:
        config = base.with_overrides(model=name)
        walls: dict[str, list[float]] = {p: [] for p in PATHS}
        cpus: dict[str, list[float]] = {p: [] for p in PATHS}
        loads = []
        for _ in range(args.repeats):
            for path in PATHS:
                wall, cpu = epoch_seconds(config, args.size, args.samples, args.epochs, path == "vectorized")
                walls[path].append(wall)
                cpus[path].append(cpu)
                loads.append(os.getloadavg()[0])
        if name == "eccnn" and args.reference:  # the layer's own cost: the same model without it
            off = [epoch_seconds(config.with_overrides(local_region=False), args.size, args.samples, args.epochs, True)
                   for _ in range(args.repeats)]
        (old, new), (old_cpu, new_cpu) = ([statistics.median(t[p]) for p in PATHS] for t in (walls, cpus))
        print(f"  {name:>5}: per-region {old:.3f} s/epoch wall ({old_cpu:.3f} CPU), vectorized {new:.3f} wall "
              f"({new_cpu:.3f} CPU); ratio per-region / vectorized {old / new:.2f} wall, {old_cpu / new_cpu:.2f} CPU  "
              f"(load average {min(loads):.1f}-{max(loads):.1f})")
        if name == "eccnn" and args.reference:
            print(f"         without the region layer {statistics.median(w for w, _ in off):.3f} s/epoch wall "
                  f"({statistics.median(c for _, c in off):.3f} CPU)  (load average {os.getloadavg()[0]:.1f})")

    if args.fold:
        tmp = Path(tempfile.mkdtemp(prefix="bench_region_"))
        if args.data:
            config = base.with_overrides(model="drml", data=args.data, cache_dir=str(tmp / "cache"))
            tag = ""
        else:
            from mer_tf.datasets.synthetic import generate

            data = generate(tmp / "synthetic", subjects=6, clips_per_class=1, frames=6, workers=1, progress=False)
            config = TrainConfig.from_file(Path(__file__).resolve().parents[1] / "configs" / "ablation.yaml",
                                           model="drml", data=str(data), cache_dir=str(tmp / "cache"))
            tag = " [synthetic data]"
        fold = {p: fold_seconds(config, tmp, p == "vectorized") for p in PATHS}
        (old, old_cpu, old_epochs), (new, new_cpu, new_epochs) = fold["per-region"], fold["vectorized"]
        print(f"  DRML LOSO fold 0{tag} ({config.size}px, {config.input}): per-region {old:.1f} s wall "
              f"({old_cpu:.1f} CPU, {old_epochs} epochs), vectorized {new:.1f} s wall ({new_cpu:.1f} CPU, "
              f"{new_epochs} epochs); ratio {old / new:.2f} wall, {old_cpu / new_cpu:.2f} CPU  "
              f"(load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
