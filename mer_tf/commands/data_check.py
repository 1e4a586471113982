"""Check a dataset tree: samples, subjects, class counts (seven-class and MEGC 3-class) and every quirk.

Exits non-zero, naming what it expected and where, when it cannot read the layout.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the dataset folder (for composite: the folder holding the three)")
    parser.add_argument(
        "--dataset",
        default="auto",
        choices=["casme2", "samm", "smic", "composite", "megc2019", "synthetic", "auto"],
        help="which layout to read (megc2019: the MEGC 2019 composite as STSTNet/HTNet publish it)",
    )
    parser.add_argument("--variant", choices=["auto", "raw", "cropped"], default="auto",
                        help="CASME II tree: raw (CASME2_RAW_selected) or cropped (Cropped)")
    parser.add_argument("--selection", default="megc2019", metavar="{megc2019,all,FILE.csv}",
                        help="composite only: megc2019 keeps exactly the official MEGC 2019 ids (442 samples from the "
                             "full trees), all keeps every clip with a 3-class label, or an id list CSV with columns "
                             "dataset, sub, filename_o, label")
    parser.add_argument("--smic-tree", default="auto", metavar="{auto,raw,cropped,FOLDER}",
                        help="SMIC folder holding both a raw and a cropped tree: which to read (auto: raw, reported)")
    parser.add_argument("--no-verify", action="store_true", help="do not decode every frame (faster)")
    parser.add_argument("--json", metavar="FILE", default=None,
                        help="also write counts and quirks as JSON (its folder must exist; not inside the dataset)")


def run(args: argparse.Namespace) -> int:
    import sys

    from mer_tf.datasets import load_dataset
    from mer_tf.outputs import check_file

    if args.json:  # checked before the (long) read, not after it
        check_file(args.json, what="JSON report", inputs={"dataset": args.path})
    report = load_dataset(args.path, dataset=args.dataset, verify=not args.no_verify, variant=args.variant,
                          progress=True, selection=args.selection, smic_tree=args.smic_tree)
    print(report.summary())
    if args.json:
        from mer_tf.atomic import atomic_write_json

        atomic_write_json(args.json, report.to_dict())
    if not report.samples:
        print(f"mer: error: no usable sample in {args.path}; see the quirks above.", file=sys.stderr)
        return 1
    return 0
