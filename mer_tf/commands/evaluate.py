"""Evaluate a trained model folder on a dataset: CNN, ECRL, fused.

Subjects the model trained on are left out unless --include-seen.

Example:
    mer evaluate models/eccnn --data datasets/casme2 --out reports/eval
"""

from __future__ import annotations

import argparse

from mer_tf.training.config import DATASETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model folder written by `mer train`")
    parser.add_argument("--data", required=True, help="dataset root")
    parser.add_argument("--dataset", default="auto", choices=DATASETS)
    parser.add_argument("--out", default="reports/evaluate",
                        help="report folder (replaced only if empty or an earlier `mer evaluate` report)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out even when it holds files mer-tf did not write (never an input)")
    parser.add_argument("--include-seen", action="store_true", help="also score subjects seen in training (not a test)")


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    from mer_tf.training import evaluate_model
    from mer_tf.training.evaluation_report import summary_text

    result = evaluate_model(args.model, args.data, args.out, dataset=args.dataset, include_seen=args.include_seen,
                            overwrite=args.overwrite)
    synthetic = args.dataset == "synthetic" or "synthetic" in str(args.data)
    print(summary_text(result.scores, result.ms_per_sample, {"synthetic": synthetic}))
    for name, path in result.paths.items():
        print(f"  {name}: {path}")
    return 0
