"""Load a model folder written by `train`: model, classes, input spec, ECRL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mer_tf.training.config import TrainConfig


@dataclass
class ModelFolder:
    """A loaded model folder.

    Attributes:
        path: the folder.
        model: the Keras model (log-probabilities out).
        config: the `TrainConfig` it was trained with.
        run: subjects used for training / validation.
        classes: output classes in order.
        scheme: "seven" or "megc3".
        spec: the `InputSpec` (mode, preprocessing, landmark backends).
        ecrl: the calibrated ECRL, or None.
    """

    path: Path
    model: object
    config: TrainConfig
    run: dict
    classes: tuple[str, ...]
    scheme: str
    spec: object
    ecrl: object | None


def load_model_folder(path: str | Path) -> ModelFolder:
    """Load `path` (a folder with model.keras, config.json, labels.json, ...)."""
    import keras

    import mer_tf.layers  # noqa: F401  (registers the custom layers)
    import mer_tf.models  # noqa: F401  (registers nll_loss)
    from mer_tf.data.input_spec import InputSpec

    path = Path(path)
    missing = [n for n in ("model.keras", "config.json", "labels.json", "input.json") if not (path / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{path} is not a complete model folder (missing {missing}); train one with `mer train --out {path}`."
        )
    cfg = json.loads((path / "config.json").read_text())
    run = cfg.pop("run", {})
    config = TrainConfig.from_dict(cfg)
    labels = json.loads((path / "labels.json").read_text())
    spec = InputSpec.from_dict(json.loads((path / "input.json").read_text()))
    ecrl = None
    if (path / "ecrl.json").is_file():
        from mer_tf.ecrl import ECRL

        ecrl = ECRL.load(path / "ecrl.json")
    model = keras.models.load_model(path / "model.keras")
    return ModelFolder(path, model, config, run, tuple(labels["classes"]), labels["scheme"], spec, ecrl)
