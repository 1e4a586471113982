"""The paper's Tables 1-3 in one run: pooling 1/2/3, local region on/off,
DRML, AlexNet, ConvNet, LCN, ECCNN, ECCNN + ECRL; LOSO accuracy, UF1, UAR,
ms per sample; Markdown + CSV + plot. Every (variant, fold) is a Ray task.

Example:
    mer ablate --data datasets/synthetic --dataset synthetic --config configs/ablation.yaml --out reports/ablation
"""

from __future__ import annotations

import argparse

from mer_tf.commands.train import add_common_arguments, add_ray_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, model_flags=False)
    add_ray_arguments(parser)
    parser.add_argument("--cells", nargs="+", help="only these variants (default: all; see mer_tf.training.CELLS)")
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="run every cell with each of these seeds (paired: shared folds); default: --seed")
    parser.add_argument("--out", default="reports/ablation",
                        help="report folder (replaced only if empty or an earlier `mer ablate` report)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out even when it holds files mer-tf did not write (never the dataset)")


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    from mer_tf.training import run_ablation

    config = config_from_args(args)
    result = run_ablation(
        config, args.out, cells=args.cells, seeds=args.seeds, use_ray=not args.no_ray, address=args.address,
        max_folds=args.max_folds, overwrite=args.overwrite,
    )
    print(result.paths["ablation.md"].read_text())
    for name, path in result.paths.items():
        print(f"  {name}: {path}")
    return 0
