"""Export a trained model folder to TFLite: float32, float16, dynamic-range and int8 (+ QAT, pruning).

Every `.tflite` has the named signature `classify` (input `image`, output
`log_probs`), builtin ops only, and carries its labels and preprocessing
parameters embedded (read them with `mer_tf.tflite_metadata.read`) and in a
sidecar `<name>.json`. int8 is calibrated on samples of the model's training
subjects and has int8 input and output. `--qat` and `--prune` fine-tune in the
separate environment made by `make qat-env`. The folder is written atomically.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", help="a `mer train` output folder (model.keras, config.json, ...)")
    parser.add_argument("out", help="the export folder to write (replaced atomically, and only if it is empty or "
                        "an earlier `mer export` output; never the model folder or inside it)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT even when it holds files mer-tf did not write (never an input)")
    parser.add_argument("--variants", default="float32,float16,dynamic,int8",
                        help="comma-separated subset of float32,float16,dynamic,int8")
    parser.add_argument("--representative", type=int, default=100, metavar="N",
                        help="int8 calibration samples, drawn evenly over classes from the training subjects")
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="dataset root (default: the one in config.json) or a SampleArrays .npz")
    parser.add_argument("--dataset", default=None, help="dataset kind (default: config.json's)")
    parser.add_argument("--qat", action="store_true",
                        help="also fine-tune a quantization-aware copy (in .venv-qat) and export qat_int8")
    parser.add_argument("--prune", type=float, default=None, metavar="SPARSITY",
                        help="also prune to this sparsity, e.g. 0.5 (in .venv-qat): pruned_float32, pruned_int8")
    parser.add_argument("--qat-epochs", type=int, default=2, help="fine-tuning epochs for --qat/--prune")
    parser.add_argument("--qat-learning-rate", type=float, default=1e-5,
                        help="Adam learning rate for --qat/--prune fine-tuning (small: the model is trained already)")
    parser.add_argument("--check-samples", type=int, default=32,
                        help="training samples on which each variant is compared with the Keras model")
    parser.add_argument("--bundle", nargs="?", const="int8", default=None, metavar="VARIANT",
                        help="also write a device bundle of this variant (default int8) in the export folder: "
                        "OUT/<model>_<variant>_bundle/ and its .tar.gz (model, ecrl.json, face models, SHA-256 "
                        "manifest), what `mer-edge run` takes on the board")


def run(args: argparse.Namespace) -> int:
    from export.export_model import export_model, parse_variants

    if args.bundle is not None and args.bundle not in parse_variants(args.variants):
        raise ValueError(f"--bundle {args.bundle}: that variant is not exported; add it to --variants "
                         f"(now {args.variants!r}) or pick one of them.")
    manifest = export_model(
        args.model_dir, args.out, variants=args.variants, representative=args.representative, data=args.data,
        dataset=args.dataset, qat=args.qat, prune=args.prune, qat_epochs=args.qat_epochs, qat_learning_rate=args.qat_learning_rate,
        check_samples=args.check_samples, overwrite=args.overwrite,
    )
    print(f"exported {manifest['model_name']} to {manifest['out_dir']}")
    print(f"int8 calibration: {manifest['representative']['samples']} samples, {manifest['representative']['source']}")
    print(f"{'variant':16} {'file':32} {'bytes':>10} {'in':>8} {'out':>8} {'max|dlogp|':>11} {'agree':>7}")
    for name, v in manifest["variants"].items():
        check = v.get("check_forward") or {}
        diff = f"{check['max_abs_diff']:.2e}" if check else "-"
        agree = f"{check['top1_agreement']:.3f}" if check else "-"
        print(f"{name:16} {v['file']:32} {v['bytes']:>10} {v['input']['dtype']:>8} {v['output']['dtype']:>8} "
              f"{diff:>11} {agree:>7}")
    if args.bundle is not None:
        from pathlib import Path

        from edge.bundle_writer import write_bundle

        out = Path(manifest["out_dir"])
        tflite = out / manifest["variants"][args.bundle]["file"]
        b = write_bundle(tflite, out / f"{tflite.stem}_bundle")
        print(f"bundle: {b['tarball']} ({b['bytes'] / 1e6:.1f} MB): copy it to the board and run "
              f"`mer-edge run {Path(b['tarball']).name} --source 0`")
    return 0
