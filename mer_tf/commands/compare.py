"""Compare exported TFLite variants on the same held-out samples: accuracy, UF1, UAR (CNN and fused
with ECRL), top-1 agreement with float32, per-class deltas, log-probability difference, file size,
and LiteRT latency with 1 and 2 threads.

Writes report.md, report.json, report.png and predictions/<variant>.csv (the per-sample
predictions, so every number can be recomputed). The held-out samples are the test subjects
recorded in the model's config.json; when it records none, all samples of --data are used and
the report says so. Exits 1 when a variant breaks --max-accuracy-drop or --min-agreement.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export_dir", help="a `mer export` folder")
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="dataset root (default: the model's config.json) or a SampleArrays .npz")
    parser.add_argument("--dataset", default=None, help="dataset kind (default: config.json's)")
    parser.add_argument("--out", default=None,
                        help="report folder (default: EXPORT_DIR); a new or empty folder, or an earlier report's")
    parser.add_argument("--overwrite", action="store_true",
                        help="write the report into --out even when it holds files mer-tf did not write")
    parser.add_argument("--max-accuracy-drop", type=float, default=None, metavar="POINTS",
                        help="fail when a variant's accuracy is more than POINTS percentage points below float32")
    parser.add_argument("--min-agreement", type=float, default=None, metavar="FRACTION",
                        help="fail when a variant's top-1 agreement with float32 is below FRACTION (e.g. 0.99)")
    parser.add_argument("--all-samples", action="store_true",
                        help="use every sample of --data, training subjects included (not a held-out test; "
                             "more samples for the agreement figures)")
    parser.add_argument("--latency-runs", type=int, default=100, help="timed inferences per variant and thread count")
    parser.add_argument("--threads", default="1,2", help="LiteRT thread counts to time, comma-separated")


def run(args: argparse.Namespace) -> int:
    import sys

    from export.compare import compare_exports
    from export.comparison_report import markdown

    try:
        threads = tuple(int(t) for t in args.threads.split(",") if t.strip())
    except ValueError:
        raise ValueError(f"--threads must be comma-separated integers, e.g. 1,2. Received: {args.threads!r}") from None
    result = compare_exports(
        args.export_dir, data=args.data, dataset=args.dataset, out_dir=args.out,
        max_accuracy_drop=args.max_accuracy_drop, min_agreement=args.min_agreement,
        threads=threads, latency_runs=args.latency_runs, all_samples=args.all_samples, overwrite=args.overwrite,
    )
    print(markdown(result))
    print(f"report: {result['paths']['markdown']}, {result['paths']['json']}, {result['paths']['plot']}")
    if result["failures"]:
        for failure in result["failures"]:
            print(f"FAIL {failure}", file=sys.stderr)
        return 1
    return 0
