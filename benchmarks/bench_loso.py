"""The cost of one LOSO fold, and of a whole LOSO, measured in one run.

Trains the same fold (same config, seed and split) the way `mer loso` does
(`light`: best weights in memory, several steps per execution, no backup,
checkpoint file or TensorBoard log, and the compiled model reused from the
worker's previous fold), the way a worker's first fold does (built, compiled
and traced anew) and the way `mer train` does (full callbacks), alternating, and prints the median seconds of each, their ratio,
and the projected wall time of a full LOSO with two folds at once on two
cores. On the MEGC 2019 release pass its folder; without one the synthetic
set is generated (labelled synthetic).

    .venv/bin/python benchmarks/bench_loso.py --data /path/to/megc2019 --config configs/megc2019.yaml
    .venv/bin/python benchmarks/bench_loso.py            # synthetic
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="dataset root (default: a generated synthetic set)")
    parser.add_argument("--config", default=None, help="YAML config (default: configs/megc2019.yaml with --data)")
    parser.add_argument("--repeats", type=int, default=2, help="timed fits of each kind")
    parser.add_argument("--fold", type=int, default=0, help="which LOSO fold to time")
    parser.add_argument("--workers", type=int, default=2, help="folds at once in the projection (CPU cores)")
    args = parser.parse_args(argv)

    import numpy as np

    from mer_tf.data.feature_store import FeatureStore
    from mer_tf.training import TrainConfig
    from mer_tf.training.fit import configure_tensorflow, fit_model
    from mer_tf.training.loso import make_folds
    from mer_tf.training.samples import load_samples

    tmp = Path(tempfile.mkdtemp(prefix="bench_loso_"))
    if args.data:
        config = TrainConfig.from_file(args.config or "configs/megc2019.yaml", data=args.data)
        tag = ""
    else:
        from mer_tf.datasets.synthetic import generate

        data = generate(tmp / "synthetic", subjects=6, clips_per_class=1, frames=6, workers=1, progress=False)
        config = TrainConfig.from_file(args.config or "configs/ablation.yaml", data=str(data),
                                       cache_dir=str(tmp / "cache"))
        tag = " [synthetic data]"
    configure_tensorflow(1, config.seed)
    samples = load_samples(config)
    store = FeatureStore(config.input_spec(), config.cache_dir)
    store.ensure(samples, progress=False)
    folds = make_folds(config, samples)
    fold = folds[args.fold % len(folds)]
    from mer_tf.training import fit as fit_module

    kinds = ("fresh", "light", "full")
    times: dict[str, list[float]] = {k: [] for k in kinds}
    epochs: dict[str, list[int]] = {k: [] for k in kinds}
    for r in range(args.repeats):
        for kind in kinds:
            if kind == "fresh":  # a worker's first fold: build, compile and trace
                fit_module._REUSABLE.clear()
            configure_tensorflow(1, config.seed)
            t0 = time.perf_counter()
            _, hist = fit_model(config, fold["train"], fold["val"], store, tmp / f"work-{kind}-{r}", light=kind != "full")
            times[kind].append(time.perf_counter() - t0)
            epochs[kind].append(hist["epochs_run"])
    fresh, light, full = (float(np.median(times[k])) for k in kinds)
    n = len(folds)
    print(f"LOSO fold cost{tag}: {config.dataset}, {len(samples)} samples, {n} folds, model {config.model}, "
          f"input {config.input} {config.size}px, batch {config.batch_size}, fold {fold['name']}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  light (mer loso, model reused from the worker's last fold): median {light:.1f} s per fold, "
          f"epochs {epochs['light']}")
    print(f"  light, first fold of a worker (build + trace): median {fresh:.1f} s per fold, epochs {epochs['fresh']}")
    print(f"  full  (mer train): median {full:.1f} s per fold, epochs {epochs['full']}")
    print(f"  ratio reused / first fold: {light / fresh:.2f}")
    per_epoch = {k: float(np.median([t / max(1, e) for t, e in zip(times[k], epochs[k])])) for k in times}
    print(f"  ratio light / full: {light / full:.2f} per fold, {per_epoch['light'] / per_epoch['full']:.2f} per epoch "
          f"({per_epoch['light']:.2f} vs {per_epoch['full']:.2f} s; early stopping can end the two at different epochs)")
    print(f"  projected LOSO wall time with {args.workers} folds at once: {light * n / args.workers / 60:.1f} min "
          f"(if every fold cost what fold {fold['name']} did)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
