"""ModelFolder: the one reader and writer of a trained model folder.

A model folder (DESIGN.md, Artifacts) is what `mer train` writes and what
evaluation, export, compare and the demo read: `model.keras`, `config.json`
(the resolved settings and the subjects used), `labels.json`,
`preprocess.json`, `input.json`, `ecrl.json`, plus `metrics.json`,
`history.json` and `curves.png`. Everything but `model.keras` is JSON and
loads without TensorFlow (the device and `mer compare` on an export folder
need nothing else); `keras_model()` imports Keras only when called.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mer_tf.atomic import atomic_write_json

MODEL_FILE = "model.keras"
# written by `save`, in this order; the first four are what every reader needs
FILES = (MODEL_FILE, "config.json", "labels.json", "preprocess.json", "input.json", "ecrl.json")
REQUIRED_FILES = FILES[:4]
ROLES = ("train", "val", "test")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); re-run `mer train`.") from exc


def _plain(value):
    """JSON for what a resolved config may hold besides plain types."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a NumPy scalar
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _subject_list(value: Any) -> list[str] | None:
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    return None


@dataclass
class ModelFolder:
    """A trained model folder, read without TensorFlow.

    Args:
        path: the folder.
        config: `config.json`: the resolved training settings (`TrainConfig.to_dict()`)
            and, under "run", the subjects used for training and validation.
        classes: the output classes in order (`labels.json`).
        scheme: "seven" or "megc3" (`labels.json`).
        preprocess: `preprocess.json`: `FacePreprocessParams.to_dict()`.

    Example:
        >>> folder = ModelFolder.load("models/eccnn")
        >>> folder.classes, folder.input_spec().mode, folder.ecrl()
        >>> model = folder.keras_model()          # imports Keras
    """

    path: Path
    config: dict
    classes: tuple[str, ...]
    scheme: str
    preprocess: dict

    @classmethod
    def load(cls, path: str | os.PathLike, require_model: bool = True) -> "ModelFolder":
        """Read a model folder; `require_model=False` also accepts an export folder (no model.keras)."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"model folder not found: {path} (train one with `mer train --out {path}`)")
        needed = REQUIRED_FILES if require_model else REQUIRED_FILES[1:]
        missing = [f for f in needed if not (path / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{path} is not a complete model folder (missing {missing}; a `mer train` output folder has "
                f"{list(REQUIRED_FILES)}); train one with `mer train --out {path}`."
            )
        labels = _read_json(path / "labels.json")
        scheme = "seven"
        if isinstance(labels, dict):  # {"classes": [...], "scheme": ...}, or an older {"0": "Neutral", ...}
            scheme = str(labels.get("scheme", scheme))
            labels = labels.get("classes") or labels.get("labels") or [labels[k] for k in sorted(labels, key=int)]
        return cls(path, _read_json(path / "config.json"), tuple(str(x) for x in labels), scheme,
                   _read_json(path / "preprocess.json"))

    @staticmethod
    def save(dest: str | os.PathLike, *, model, config: dict, classes, scheme: str, spec, ecrl=None) -> Path:
        """Write the folder's model and JSON files into `dest` (an existing folder, e.g. an atomic_folder's).

        Args:
            model: the trained Keras model.
            config: the resolved settings with their "run" record (config.json).
            classes, scheme: the output classes and their scheme (labels.json).
            spec: the `InputSpec` (input.json; its preprocessing params give preprocess.json).
            ecrl: the calibrated `ECRL`, or None (no ecrl.json).
        """
        dest = Path(dest)
        model.save(dest / MODEL_FILE)
        atomic_write_json(dest / "config.json", config, default=_plain)
        atomic_write_json(dest / "labels.json", {"classes": list(classes), "scheme": scheme})
        spec.params().save(dest / "preprocess.json")
        atomic_write_json(dest / "input.json", spec.to_dict())
        if ecrl is not None:
            ecrl.save(dest / "ecrl.json")
        return dest

    # -- the TensorFlow-free part -----------------------------------------
    @property
    def model_name(self) -> str:
        return str(self.config.get("model", "eccnn"))

    @property
    def run(self) -> dict:
        """What `mer train` recorded about the run: train_subjects, val_subjects, n_samples."""
        run = self.config.get("run")
        return run if isinstance(run, dict) else {}

    def train_config(self):
        """The `TrainConfig` the model was trained with (the "run" record left out)."""
        from mer_tf.training.config import TrainConfig

        return TrainConfig.from_dict({k: v for k, v in self.config.items() if k != "run"})

    def input_spec(self):
        """The `InputSpec` (input.json): input mode, preprocessing, landmark backends."""
        from mer_tf.data.input_spec import InputSpec

        if not (self.path / "input.json").is_file():
            raise FileNotFoundError(f"{self.path} has no input.json; re-train it with `mer train --out {self.path}`.")
        return InputSpec.from_dict(_read_json(self.path / "input.json"))

    def preprocess_params(self):
        """The `FacePreprocessParams` of preprocess.json."""
        from mer_tf.preprocess import FacePreprocessParams

        return FacePreprocessParams.from_dict(self.preprocess)

    def ecrl(self):
        """The calibrated `ECRL` of ecrl.json, or None when the folder has none."""
        if not (self.path / "ecrl.json").is_file():
            return None
        from mer_tf.ecrl import ECRL

        return ECRL.load(self.path / "ecrl.json")

    def input_metadata(self) -> dict[str, Any]:
        """What the device must feed: `input_mode` ("apex" face or "flow": onset->apex u, v, strain)
        and, when the folder has it, `input_spec` (input.json: flow method, landmark backends).

        `flip_average` says the model averages each input with its mirror image
        inside its own graph (nothing for the device to do; the CNN costs twice)."""
        out: dict[str, Any] = {"input_mode": str(self.config.get("input", "apex")),
                               "flip_average": bool(self.config.get("flip_average", False))}
        if (self.path / "input.json").is_file():
            out["input_spec"] = _read_json(self.path / "input.json")
        return out

    def subjects(self, role: str) -> list[str] | None:
        """Subjects recorded in config.json for `role`: "train", "val" or "test".

        Read from `run: {train_subjects, val_subjects}` (what `mer train` writes),
        `split: {train, val, test}` or top-level `<role>_subjects` lists. None
        when the folder records none.
        """
        if role not in ROLES:
            raise ValueError(f"`role` must be one of {ROLES}. Received: role={role!r}")
        c = self.config
        places = [c.get(k) for k in ("run", "split") if isinstance(c.get(k), dict)] + [c]
        for place in places:
            subjects = _subject_list(place.get(f"{role}_subjects")) or _subject_list(place.get(role))
            if subjects is not None:
                return sorted(set(subjects))
        return None

    # -- the TensorFlow part ----------------------------------------------
    def keras_model(self):
        """The trained Keras 3 model (log-probabilities out); imports Keras and registers mer-tf's layers."""
        import keras

        import mer_tf.layers  # noqa: F401  registers LocalRegionLayer & co.
        import mer_tf.models  # noqa: F401  registers nll_loss

        if not (self.path / MODEL_FILE).is_file():
            raise FileNotFoundError(f"{self.path} has no {MODEL_FILE} (an export folder?); pass the `mer train` folder.")
        try:
            return keras.saving.load_model(self.path / MODEL_FILE, compile=False)
        except Exception as exc:  # zipfile, h5py, JSON, Keras deserialisation: all mean a damaged file
            # Keras reports a truncated or damaged .keras as "File not found"; the file is there but broken.
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"{self.path / MODEL_FILE} exists but cannot be loaded as a Keras model "
                             f"({type(exc).__name__}: {detail}); it is truncated, corrupt or not a .keras file: "
                             "train it again with `mer train`.") from exc
