"""Train a model with Keras fit and write a model folder.

Example:
    mer train --data datasets/synthetic --dataset synthetic --model eccnn --out models/eccnn
"""

from __future__ import annotations

import argparse

from mer_tf.data.flow_regions import FLOW_REGIONS
from mer_tf.data.input_spec import INPUT_MODES
from mer_tf.training.config import DATASETS, MODELS

# flag -> TrainConfig field, for the flags shared by train, loso and ablate
_FIELDS = {
    "data": "data", "dataset": "dataset", "model": "model", "pooling": "pooling", "local_region": "local_region",
    "input": "input", "epochs": "epochs", "batch_size": "batch_size", "learning_rate": "learning_rate",
    "size": "size", "seed": "seed", "val_subjects": "val_subjects",
    "score_subjects": "score_subjects", "steps_per_epoch": "steps_per_epoch",
    "cache_dir": "cache_dir", "landmarks": "landmarks", "detector": "detector", "landmarker": "landmarker",
    "flow_method": "flow_method", "classes": "classes", "max_samples_per_subject": "max_samples_per_subject",
    "ecrl": "ecrl", "augment": "augment", "patience": "patience", "lr_schedule": "lr_schedule", "threads": "threads", "group_by": "loso_group_by",
    "test_subjects": "test_subjects", "label_smoothing": "label_smoothing", "mixup": "mixup",
    "flip_average": "flip_average", "weight_decay": "weight_decay", "weight_average": "weight_average",
    "ensemble": "ensemble", "flow_regions": "flow_regions", "dropout": "dropout",
    "filters": "filters", "centre_flow": "centre_flow",
    "standardize_flow": "standardize_flow", "class_weight_power": "class_weight_power",
}  # fmt: skip


def _widths(text: str) -> list[int]:
    """`--filters 32,64,128` -> [32, 64, 128] (argparse names the flag and the value when this fails)."""
    try:
        widths = [int(part) for part in text.split(",")]
    except ValueError:
        widths = []
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive widths such as 32,64,128, got {text!r}")
    return widths


def add_common_arguments(parser: argparse.ArgumentParser, model_flags: bool = True) -> None:
    """Flags shared by `mer train`, `mer loso` and `mer ablate` (all default to the config)."""
    parser.add_argument("--data", help="dataset root (default from the config: datasets/synthetic)")
    parser.add_argument("--dataset", choices=DATASETS)
    parser.add_argument("--config", help="YAML config file (configs/*.yaml); flags override it")
    if model_flags:
        parser.add_argument("--model", choices=MODELS,
                            help="eccnn (the paper's), a Table 3 baseline, or ststnet (the MEGC 2019 peer)")
        parser.add_argument("--pooling", type=int, choices=[1, 2, 3], help="ECCNN pooling layers")
        parser.add_argument("--dropout", type=float, metavar="RATE",
                            help="the model's dropout rate (ECCNN: before the classifier; default from the config: 0.5)")
        parser.add_argument("--filters", type=_widths, metavar="W1,W2,W3",
                            help="ECCNN's conv widths, one per block (default from the config: 16,32,64)")
        parser.add_argument("--no-local-region", dest="local_region", action="store_const", const=False, default=None,
                            help="ECCNN without the LocalRegionLayer")  # fmt: skip
    parser.add_argument("--input", choices=INPUT_MODES,
                        help="flow (default): onset->apex optical flow computed from the frames; apex: the "
                             "apex frame (the paper's input, at chance on real faces); flow_image: the u/v/strain "
                             "image shipped with the data (MEGC 2019 release; what flow means there)")
    parser.add_argument("--flow-regions", choices=FLOW_REGIONS,
                        help="flow_image only: whole (default) or eyes_mouth (HTNet's input: four blocks of the flow "
                             "image around the eyes and mouth corners, placed by the apex landmarks and tiled)")
    parser.add_argument("--centre-flow", dest="centre_flow", action="store_const", const=True, default=None,
                        help="flow_image only: subtract each image's median u and v, so that no motion reads 0 in "
                             "every image (the release min-max scales each image on its own)")
    parser.add_argument("--no-centre-flow", dest="centre_flow", action="store_const", const=False,
                        help="the flow image as shipped (the default unless the config sets centre_flow)")
    parser.add_argument("--standardize-flow", dest="standardize_flow", action="store_const", const=True, default=None,
                        help="flow_image only, instead of --centre-flow: u, v and strain each minus its median and "
                             "over its standard deviation (undoes the release's per-image min-max scaling)")
    parser.add_argument("--no-standardize-flow", dest="standardize_flow", action="store_const", const=False,
                        help="the flow image not standardized (the default unless the config sets standardize_flow)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--patience", type=int,
                        help="early-stopping patience (validation loss); 0: no early stopping, keep the last epoch")
    parser.add_argument("--lr-schedule", choices=["constant", "cosine"],
                        help="learning rate per epoch: constant, or cosine decay towards 0 over --epochs")
    parser.add_argument("--size", type=int, help="input side in pixels")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--val-subjects", type=int, help="validation subjects drawn from the training subjects")
    parser.add_argument("--score-subjects", type=int,
                        help="LOSO: further subjects per fold never fitted on, not even for early stopping; they "
                             "score the settings (scores.json 'selection')")
    parser.add_argument("--steps-per-epoch", type=int, help="cap steps per epoch (tiny runs)")
    parser.add_argument("--max-samples-per-subject", type=int, help="cap samples per subject (tiny runs)")
    parser.add_argument("--classes", choices=["auto", "seven", "megc3"])
    parser.add_argument("--landmarks", choices=["detected", "ground_truth"], help="ECRL/alignment landmarks")
    parser.add_argument("--detector", choices=["dlib", "blazeface"])
    parser.add_argument("--landmarker", choices=["dlib", "mediapipe"])
    parser.add_argument("--flow-method", choices=["dis", "tvl1", "farneback"])
    parser.add_argument("--cache-dir", help="feature cache (default $MER_TF_CACHE or ~/.cache/mer-tf/features)")
    parser.add_argument("--threads", type=int, help="TensorFlow intra-op threads")
    parser.add_argument("--no-ecrl", dest="ecrl", action="store_const", const=False, default=None)
    parser.add_argument("--no-augment", dest="augment", action="store_const", const=False, default=None)
    parser.add_argument("--label-smoothing", type=float, metavar="EPS",
                        help="label smoothing of the training targets (0: off, the default; 0.1 is usual)")
    parser.add_argument("--class-weight-power", type=float, metavar="P",
                        help="class weights (n / (K n_c)) ** P in the loss: 1 inverse frequency (the default), "
                             "0.5 square-root weights, 0 none")
    parser.add_argument("--mixup", type=float, metavar="ALPHA",
                        help="mixup of the training batches, lam ~ Beta(ALPHA, ALPHA) (0: off, the default; 0.2 is usual)")
    parser.add_argument("--weight-decay", type=float, metavar="WD",
                        help="decoupled (AdamW) weight decay of the kernels, per unit of learning rate (0: off, the default)")
    parser.add_argument("--weight-average", type=int, metavar="N",
                        help="keep the mean of the last N epochs' weights instead of the last epoch's "
                             "(0: off, the default; needs --patience 0)")
    parser.add_argument("--ensemble", type=int, metavar="K",
                        help="train K fits on the same split (seeds seed + 1000 k) and keep their average "
                             "(1: one fit, the default; K times the training and CNN cost)")
    parser.add_argument("--flip-average", dest="flip_average", action="store_const", const=True, default=None,
                        help="predict on each input and its mirror image and average the two (test-time augmentation)")


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", help="Ray cluster address (default: a local Ray with 2 CPUs)")
    parser.add_argument("--no-ray", action="store_true", help="run the folds inline, one after the other")
    parser.add_argument("--max-folds", type=int, help="only the first N folds (a quick, partial look)")
    parser.add_argument("--group-by", choices=["subject", "group"],
                        help="leave one subject out (default) or one source group (stricter on synthetic)")  # fmt: skip


def config_from_args(args: argparse.Namespace):
    """The resolved TrainConfig: defaults < --config file < flags."""
    from mer_tf.training.config import TrainConfig

    overrides = {field: getattr(args, flag) for flag, field in _FIELDS.items() if getattr(args, flag, None) is not None}
    if getattr(args, "config", None):
        return TrainConfig.from_file(args.config, **overrides)
    return TrainConfig().with_overrides(**overrides)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--test-subjects", nargs="+", metavar="SUBJECT",
                        help="subjects left out of training and validation altogether; "
                             "`mer compare` then scores the export on them")
    parser.add_argument("--out", default="models/model",
                        help="model folder to write (replaced only if empty or an earlier `mer train` output)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out even when it holds files mer-tf did not write (never the dataset)")


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    from mer_tf.training import train

    config = config_from_args(args)
    result = train(config, args.out, overwrite=args.overwrite)
    tag = " [synthetic data]" if result.metrics.get("synthetic") else ""
    print(f"model folder: {result.model_dir}{tag}")
    print(f"epochs run: {result.metrics['epochs_run']}, train {result.metrics['n_train']} / val {result.metrics['n_val']} samples")
    val = result.metrics.get("validation", {})
    for column in ("cnn", "ecrl", "fused"):
        if column in val:
            s = val[column]["all"]
            print(f"validation {column}: accuracy {s['accuracy']:.3f}  UF1 {s['uf1']:.3f}  UAR {s['uar']:.3f} (n={s['n']})")
    for name, path in result.paths.items():
        print(f"  {name}: {path}")
    return 0
