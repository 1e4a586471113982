"""A model folder's samples as arrays: its training subjects and its held-out subjects.

`mer export` calibrates int8 and fine-tunes QAT on the subjects the model was
trained on; `mer compare` scores the variants on the subjects it never saw.
Which subjects those are is read from the folder (`ModelFolder.subjects`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from export.sample_arrays import SampleArrays
from mer_tf.model_folder import ModelFolder


def held_out(folder: ModelFolder, arrays: SampleArrays) -> SampleArrays:
    """The samples the model was not trained on, best first.

    1. the recorded test subjects; 2. subjects in neither the training nor the
    validation list; 3. the validation subjects (no gradient step saw them,
    though with early stopping they chose the epoch); 4. all samples. `source` says which.
    """
    test = folder.subjects("test")
    if test is not None:
        return pick_subjects(folder, arrays, test, "test subjects")
    train = folder.subjects("train")
    if train is not None:
        seen = set(train) | set(folder.subjects("val") or [])
        unseen = sorted(set(arrays.subjects.tolist()) - seen)
        if unseen:
            return pick_subjects(folder, arrays, unseen, "subjects not used in training or validation")
        val = folder.subjects("val")
        if val:
            return pick_subjects(folder, arrays, val,
                                 "validation subjects (no gradient step saw them)")
    arrays.source += f"; all {len(arrays)} samples ({folder.path.name} records no held-out subjects: NOT a held-out test)"
    return arrays


def pick_subjects(folder: ModelFolder, arrays: SampleArrays, subjects: list[str], what: str) -> SampleArrays:
    """The samples of `subjects`; a clear error when none of them is in the data."""
    picked = arrays.of_subjects(subjects)
    if len(picked) == 0:
        raise ValueError(
            f"none of the {what} {subjects} of {folder.path} is in the data "
            f"(its subjects: {sorted(set(arrays.subjects.tolist()))[:10]}); pass the dataset the model was trained on."
        )
    picked.source = f"{arrays.source}; {what} {', '.join(subjects)} ({len(picked)} samples)"
    return picked


def folder_samples(folder: ModelFolder, role: str, data: str | os.PathLike | None = None, dataset: str | None = None,
                   cache_dir: str | None = None, progress: bool = True) -> SampleArrays:
    """The samples of `role` as arrays, preprocessed as in training.

    Args:
        folder: the model (or export) folder.
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
    data = data if data is not None else folder.config.get("data")
    if data is None:
        raise ValueError(f"{folder.path}/config.json names no dataset; pass --data PATH.")
    if str(data).endswith(".npz"):
        arrays = SampleArrays.from_npz(data)
    else:
        arrays = _dataset_arrays(folder, Path(data), dataset, cache_dir, progress)
    if role == "test":
        return held_out(folder, arrays)
    if role == "all":
        arrays.source += f"; all {len(arrays)} samples, training subjects included (NOT a held-out test)"
        return arrays
    subjects = folder.subjects("train")
    if subjects is None:
        arrays.source += f"; all {len(arrays)} samples ({folder.path.name} records no train subjects)"
        return arrays
    # Not the validation subjects: they may serve as the held-out set of `mer compare`.
    return pick_subjects(folder, arrays, subjects, "training subjects")


def _dataset_arrays(folder: ModelFolder, data: Path, dataset: str | None, cache_dir: str | None,
                    progress: bool) -> SampleArrays:
    from mer_tf.data import FeatureStore
    from mer_tf.ecrl.subject_neutral import with_subject_neutrals
    from mer_tf.training.config import TrainConfig
    from mer_tf.training.samples import label_indices, load_samples

    if not data.exists():
        raise FileNotFoundError(f"dataset not found: {data} (pass --data PATH; `mer data synth` makes the synthetic set)")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    settings = {k: v for k, v in folder.config.items() if k in known}
    settings.update(data=str(data), dataset=dataset or folder.config.get("dataset", "auto"))
    if cache_dir:
        settings["cache_dir"] = cache_dir
    config = TrainConfig.from_dict(settings)
    samples = load_samples(config)
    feats = FeatureStore(config.input_spec(), config.cache_dir).load_all(samples, progress=progress)
    feats = with_subject_neutrals(samples, feats)  # data without onset frames: each subject's mean face
    return SampleArrays(
        x=np.stack([f.image for f in feats]),
        y=np.asarray(label_indices(samples, list(folder.classes), config.class_scheme)),
        subjects=np.asarray([s.subject for s in samples]),
        sample_ids=np.asarray([s.sample_id for s in samples]),
        apex_landmarks=np.stack([f.apex_landmarks for f in feats]),
        neutral_landmarks=np.stack([f.neutral_landmarks for f in feats]),
        source=f"{config.dataset} set at {data}",
    )
