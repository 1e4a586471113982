"""Leave-one-subject-out evaluation: CNN alone, ECRL alone, fused; pooled UF1/UAR.

Every fold trains on the other subjects, chooses its epoch on validation
subjects drawn from them, and only predicts its test subject. Folds run as
Ray tasks (local, at most 2 at once; --address for a cluster; --no-ray inline).

Example:
    mer loso --data datasets/synthetic --dataset synthetic --out reports/loso
"""

from __future__ import annotations

import argparse

from mer_tf.commands.train import add_common_arguments, add_ray_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    add_ray_arguments(parser)
    parser.add_argument("--ecrl-only", action="store_true",
                        help="score ECRL alone (calibrated per fold on the training subjects; no CNN, no TensorFlow)")
    parser.add_argument("--trace-epochs", action="store_true",
                        help="also predict each test subject after every epoch (epoch_trace.json): read with "
                        "scripts/epoch_trace.py what choosing the epoch on the test subject, as some published "
                        "code does, would report; the report's own scores are unchanged")
    parser.add_argument("--out", default="reports/loso",
                        help="report folder (replaced only if empty or an earlier `mer loso` report)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out even when it holds files mer-tf did not write (never the dataset)")


def run(args: argparse.Namespace) -> int:
    import os

    if args.ecrl_only:
        from mer_tf.metrics import format_scores
        from mer_tf.training.ecrl_loso import run_ecrl_loso

        config = config_from_args(args)
        result = run_ecrl_loso(config, args.out, overwrite=args.overwrite)
        tag = " [synthetic data]" if config.dataset == "synthetic" else ""
        for part, s in result["ecrl"].items():
            print(format_scores(s, f"ECRL alone ({config.landmarker} landmarks) / {part}{tag}"))
        print(f"a rule fired on {result['fired']:.1%} of {result['n']} samples; report: {args.out}")
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    from mer_tf.training import run_loso
    from mer_tf.training.evaluation_report import summary_text

    config = config_from_args(args)
    result = run_loso(config, args.out, use_ray=not args.no_ray, address=args.address, max_folds=args.max_folds,
                      overwrite=args.overwrite, trace_epochs=args.trace_epochs)
    meta = {"synthetic": config.dataset == "synthetic"}
    print(summary_text(result.scores, result.ms_per_sample, meta))
    print(f"folds: {len(result.folds)}{' (partial)' if args.max_folds else ''}")
    for name, path in result.paths.items():
        print(f"  {name}: {path}")
    return 0
