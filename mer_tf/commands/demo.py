"""Run the whole system end to end on the built-in synthetic set and write one report.

Steps: generate the synthetic set -> train ECCNN and calibrate ECRL -> LOSO
(CNN, ECRL, fused) -> export float32/float16/dynamic/int8 TFLite -> compare
them -> run the edge runtime on a held-out video -> benchmark its stages ->
report.md + report.html. A second run reuses what is already built
(--rebuild redoes everything).

Example:
    mer demo --out runs/demo
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/demo"),
                        help="run folder (new, empty, or an earlier `mer demo` run's)")
    parser.add_argument("--data", type=Path, default=Path("datasets/synthetic"),
                        help="synthetic set folder (new, empty, or a set `mer data synth`/`mer demo` generated)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into --out even when it holds files mer-tf did not write")
    parser.add_argument("--subjects", type=int, default=12, help="synthetic subjects")
    parser.add_argument("--clips-per-class", type=int, default=2, help="synthetic clips per class per subject")
    parser.add_argument("--frames", type=int, default=12, help="frames per synthetic clip")
    parser.add_argument("--holdout-subjects", type=int, default=3,
                        help="subjects kept out of the deployed model (export comparison, edge video)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the deployed model")
    parser.add_argument("--loso-epochs", type=int, default=25, help="epochs per LOSO fold")
    parser.add_argument("--max-folds", type=int, default=None, help="run only the first N LOSO folds")
    parser.add_argument("--input", choices=["flow", "apex"], default="flow",
                        help="network input: onset->apex optical flow, or the apex frame (the paper's)")
    parser.add_argument("--no-ray", action="store_true", help="run LOSO folds inline instead of as Ray tasks")
    parser.add_argument("--rebuild", action="store_true", help="redo every step even if its artifacts exist")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from mer_tf.commands.demo_job import DemoJob, DemoOptions

    options = DemoOptions(out=args.out, data=args.data, subjects=args.subjects, clips_per_class=args.clips_per_class,
                          frames=args.frames, holdout_subjects=args.holdout_subjects, epochs=args.epochs,
                          loso_epochs=args.loso_epochs, max_folds=args.max_folds, use_ray=not args.no_ray,
                          rebuild=args.rebuild, seed=args.seed, input=args.input,
                          overwrite=args.overwrite)
    t0 = time.perf_counter()

    def on_step(name: str, message: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {name:8s} {message}", file=sys.stderr, flush=True)

    result = DemoJob(options, on_step).run()
    print(f"\nDemo finished in {time.perf_counter() - t0:.0f} s (synthetic data).")
    print(f"Report: {result.report_html.resolve()}")
    print(f"        {result.report_md.resolve()}")
    return 0
