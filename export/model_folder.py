"""ModelFolder: a trained model folder (model.keras, config.json, labels.json, preprocess.json, ...)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from export.sample_arrays import SampleArrays

log = logging.getLogger(__name__)

REQUIRED_FILES = ("model.keras", "config.json", "labels.json", "preprocess.json")
ROLES = ("train", "val", "test")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); re-run `mer train`.") from exc


def _subject_list(value: Any) -> list[str] | None:
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    return None


@dataclasses.dataclass
class ModelFolder:
    """A trained model folder as written by `mer train` (DESIGN.md, Artifacts).

    Args:
        path: the folder.
        config: `config.json` (the resolved training settings, with the split).
        labels: `labels.json`: the class names in output order.
        preprocess: `preprocess.json`: `FacePreprocessParams.to_dict()`.
    """

    path: Path
    config: dict
    labels: list[str]
    preprocess: dict

    @classmethod
    def load(cls, path: str | os.PathLike, require_model: bool = True) -> "ModelFolder":
        """Read a model folder; `require_model=False` also accepts an export folder (no model.keras)."""
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"model folder not found: {path} (train one with `mer train`)")
        needed = REQUIRED_FILES if require_model else REQUIRED_FILES[1:]
        missing = [f for f in needed if not (path / f).is_file()]
        if missing:
            raise FileNotFoundError(f"folder {path} lacks {missing}; a `mer train` output folder has {list(REQUIRED_FILES)}.")
        labels = _read_json(path / "labels.json")
        if isinstance(labels, dict):  # {"classes": [...]} or {"0": "Neutral", ...}
            labels = labels.get("classes") or labels.get("labels") or [labels[k] for k in sorted(labels, key=int)]
        return cls(path, _read_json(path / "config.json"), [str(x) for x in labels], _read_json(path / "preprocess.json"))

    @property
    def model_name(self) -> str:
        return str(self.config.get("model", "eccnn"))

    def input_metadata(self) -> dict[str, Any]:
        """What the device must feed: `input_mode` ("apex" face or "flow": onset->apex u, v, strain)
        and, when the folder has it, `input_spec` (input.json: flow method, landmark backends)."""
        out: dict[str, Any] = {"input_mode": str(self.config.get("input", "apex"))}
        if (self.path / "input.json").is_file():
            out["input_spec"] = _read_json(self.path / "input.json")
        return out

    def keras_model(self):
        """The trained Keras 3 model (custom layers registered by importing mer_tf.models)."""
        import keras

        try:
            import mer_tf.layers  # noqa: F401  registers LocalRegionLayer & co.
            import mer_tf.models  # noqa: F401  registers nll_loss
        except ImportError as exc:  # pragma: no cover - the package is always there
            log.warning("could not import mer_tf.models (%s); loading without its custom objects", exc)
        return keras.saving.load_model(self.path / "model.keras", compile=False)

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

    def held_out(self, arrays: SampleArrays) -> SampleArrays:
        """The samples the model was not trained on, best first.

        1. the recorded test subjects; 2. subjects in neither the training nor the
        validation list; 3. the validation subjects (they chose the epoch, but no
        gradient step saw them); 4. all samples. `source` says which.
        """
        test = self.subjects("test")
        if test is not None:
            return self._pick(arrays, test, "test subjects")
        train = self.subjects("train")
        if train is not None:
            seen = set(train) | set(self.subjects("val") or [])
            unseen = sorted(set(arrays.subjects.tolist()) - seen)
            if unseen:
                return self._pick(arrays, unseen, "subjects not used in training or validation")
            val = self.subjects("val")
            if val:
                return self._pick(arrays, val, "validation subjects (early stopping only; no gradient step saw them)")
        arrays.source += f"; all {len(arrays)} samples ({self.path.name} records no held-out subjects: NOT a held-out test)"
        return arrays

    def _pick(self, arrays: SampleArrays, subjects: list[str], what: str) -> SampleArrays:
        picked = arrays.of_subjects(subjects)
        if len(picked) == 0:
            raise ValueError(
                f"none of the {what} {subjects} of {self.path} is in the data "
                f"(its subjects: {sorted(set(arrays.subjects.tolist()))[:10]}); pass the dataset the model was trained on."
            )
        picked.source = f"{arrays.source}; {what} {', '.join(subjects)} ({len(picked)} samples)"
        return picked

    def sample_arrays(self, role: str, data: str | os.PathLike | None = None, dataset: str | None = None,
                      cache_dir: str | None = None, progress: bool = True) -> SampleArrays:
        """The samples of `role` ("train" or "test") as arrays, preprocessed as in training.

        Args:
            role: "train" for the representative set and QAT, "test" for the report
                (see `held_out`), "all" for every sample of `data`.
            data: a dataset root (default: the one in config.json) or an `.npz` of
                `SampleArrays`.
            dataset: the dataset kind (default: config.json's, else "auto").
            cache_dir: the feature cache (default: config.json's, else the default).
            progress: tqdm bar while features are computed.
        """
        if role not in ("train", "test", "all"):
            raise ValueError(f"`role` must be 'train', 'test' or 'all'. Received: role={role!r}")
        data = data if data is not None else self.config.get("data")
        if data is None:
            raise ValueError(f"{self.path}/config.json names no dataset; pass --data PATH.")
        if str(data).endswith(".npz"):
            arrays = SampleArrays.from_npz(data)
        else:
            arrays = self._dataset_arrays(Path(data), dataset, cache_dir, progress)
        if role == "test":
            return self.held_out(arrays)
        if role == "all":
            arrays.source += f"; all {len(arrays)} samples, training subjects included (NOT a held-out test)"
            return arrays
        subjects = self.subjects("train")
        if subjects is None:
            arrays.source += f"; all {len(arrays)} samples ({self.path.name} records no train subjects)"
            return arrays
        # Not the validation subjects: they may serve as the held-out set of `mer compare`.
        return self._pick(arrays, subjects, "training subjects")

    def _dataset_arrays(self, data: Path, dataset: str | None, cache_dir: str | None, progress: bool) -> SampleArrays:
        from mer_tf.data import FeatureStore
        from mer_tf.ecrl.subject_neutral import with_subject_neutrals
        from mer_tf.training.config import TrainConfig
        from mer_tf.training.samples import label_indices, load_samples

        if not data.exists():
            raise FileNotFoundError(f"dataset not found: {data} (pass --data PATH; `mer data synth` makes the synthetic set)")
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        settings = {k: v for k, v in self.config.items() if k in known}
        settings.update(data=str(data), dataset=dataset or self.config.get("dataset", "auto"))
        if cache_dir:
            settings["cache_dir"] = cache_dir
        config = TrainConfig.from_dict(settings)
        samples = load_samples(config)
        feats = FeatureStore(config.input_spec(), config.cache_dir).load_all(samples, progress=progress)
        feats = with_subject_neutrals(samples, feats)  # data without onset frames: each subject's mean face
        return SampleArrays(
            x=np.stack([f.image for f in feats]),
            y=np.asarray(label_indices(samples, self.labels, config.class_scheme)),
            subjects=np.asarray([s.subject for s in samples]),
            sample_ids=np.asarray([s.sample_id for s in samples]),
            apex_landmarks=np.stack([f.apex_landmarks for f in feats]),
            neutral_landmarks=np.stack([f.neutral_landmarks for f in feats]),
            source=f"{config.dataset} set at {data}",
        )
