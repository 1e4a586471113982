"""Print a model's layers, parameter count and multiply-accumulates (MACs per image).

Examples:
  mer model summary                         # ECCNN, 3 pooling layers, region layer on
  mer model summary --pooling 1 --no-local-region --input-size 96
  mer model summary --model drml
"""

from __future__ import annotations

import argparse

from mer_tf.training.config import MODELS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="eccnn",
                        help="which network (baselines: paper Table 3; ststnet: the MEGC 2019 peer)")
    parser.add_argument(
        "--pooling", type=int, choices=(1, 2, 3), default=None,
        help="ECCNN only: number of 2x2 max-pooling layers (paper Table 2); default 3",
    )
    parser.add_argument(
        "--no-local-region", dest="local_region", action="store_false", default=None,
        help="ECCNN only: leave out the local region layer (paper Table 1)",
    )
    parser.add_argument("--input-size", type=int, default=None, help="input side in pixels (default: the models' default, 64)")
    parser.add_argument("--num-classes", type=int, default=7, help="number of output classes")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    import json

    from mer_tf.models import DEFAULT_INPUT_SIZE
    from mer_tf.models.summary import summarize

    kwargs = {}
    if args.pooling is not None:
        kwargs["pooling_layers"] = args.pooling
    if args.local_region is not None:
        kwargs["local_region"] = args.local_region
    if kwargs and args.model != "eccnn":
        raise ValueError(f"--pooling and --no-local-region apply to --model eccnn only. Received: --model {args.model}")
    summary = summarize(args.model, args.input_size or DEFAULT_INPUT_SIZE, args.num_classes, **kwargs)
    print(json.dumps(summary.to_dict(), indent=2) if args.json else summary.format_table())
    return 0
