"""ECCNN cost against input size: MACs, parameters, float32 TFLite size and LiteRT latency.

  python benchmarks/bench_input_size.py [--sizes 48 64 96 128] [--pooling 1 3] [--runs 100] [--repeats 7]
  python benchmarks/bench_input_size.py --sizes 64 --models eccnn drml alexnet convnet lcn

For each input side and number of pooling layers (region layer on, default
ECCNNOptions), the model is built with random weights, converted to float32
TFLite (builtin ops only) and run in ai_edge_litert with 1 thread. Latency is
the median over `repeats` blocks of `runs` invocations (wall and CPU time of
this process per inference: the machine is shared, CPU time is what one
inference costs when others are busy). `--models` adds the Table 3 baselines
and the STSTNet peer (pooling does not apply to them). Accuracy against size
is measured by training, not here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the machine is shared
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mer_tf.training.config import MODELS  # noqa: E402  (TensorFlow-free)


def latency(interpreter, x, runs: int, repeats: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds per inference over `repeats` blocks of `runs` calls."""
    inp = interpreter.get_input_details()[0]["index"]
    interpreter.set_tensor(inp, x)
    for _ in range(10):  # warm-up: allocations, caches
        interpreter.invoke()
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(runs):
            interpreter.invoke()
        walls.append((time.perf_counter() - t0) / runs * 1e3)
        cpus.append((time.process_time() - c0) / runs * 1e3)
    return statistics.median(walls), statistics.median(cpus)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 64, 96, 128])
    parser.add_argument("--pooling", type=int, nargs="+", default=[1, 3], choices=(1, 2, 3))
    parser.add_argument("--no-local-region", dest="local_region", action="store_false")
    parser.add_argument("--models", nargs="+", default=["eccnn"], choices=MODELS)
    parser.add_argument("--runs", type=int, default=100, help="invocations per timed block")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks; the median is reported")
    args = parser.parse_args(argv)

    import logging

    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from mer_tf.models import build_model
    from mer_tf.models.summary import ModelSummary

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    tf.get_logger().setLevel(logging.ERROR)
    rows = []
    runs = [("eccnn", p) for p in args.pooling] if "eccnn" in args.models else []
    runs += [(name, None) for name in args.models if name != "eccnn"]
    for name, pooling in runs:
        for size in args.sizes:
            kwargs = {} if pooling is None else {"pooling_layers": pooling, "local_region": args.local_region}
            model = build_model(name, (size, size, 3), 7, **kwargs)
            summary = ModelSummary.of(model)
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            content = converter.convert()
            interpreter = Interpreter(model_content=content, num_threads=1)
            interpreter.allocate_tensors()
            x = np.random.default_rng(0).uniform(-1, 1, size=(1, size, size, 3)).astype("float32")
            wall, cpu = latency(interpreter, x, args.runs, args.repeats)
            rows.append((name, pooling or "-", size, summary.total_macs / 1e6, summary.total_params / 1e6, len(content) / 1e6,
                         wall, cpu))
            print(f"  measured {name} pooling={pooling} size={size}", file=sys.stderr, flush=True)

    region = "on" if args.local_region else "off"
    print(f"float32 TFLite, LiteRT 1 thread, ECCNN region layer {region}, median of {args.repeats}x{args.runs} runs")
    header = ("model", "pooling", "input", "MMACs", "Mparams", "MB", "ms wall", "ms CPU")
    print("  ".join(f"{h:>8}" for h in header))
    for name, pooling, size, macs, params, mb, wall, cpu in rows:
        print(f"{name:>8}  {pooling:>8}  {size:>8}  {macs:>8.2f}  {params:>8.3f}  {mb:>8.2f}  {wall:>8.3f}  {cpu:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
