"""A tiny trained model folder for the export/compare/QAT tests (built by the tests themselves).

Not a real training run: a small ECCNN (32x32 input, few filters) trained for a
few steps on learnable synthetic arrays (each class is a brighter patch in a
different place), so that float and quantized variants have something to agree
on. The arrays go into an `.npz` that `--data` accepts.
"""

import json
from pathlib import Path

import numpy as np

from mer_tf.labels import CLASSES

SIZE = 32
SUBJECTS = ("s01", "s02", "s03", "s04")
TEST_SUBJECTS = ("s04",)


def make_arrays(per_class_subject: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    xs, ys, subjects, ids, apex, neutral = [], [], [], [], [], []
    base = rng.uniform(20, 40, size=(68, 2)).astype(np.float32)
    for s in SUBJECTS:
        for c in range(len(CLASSES)):
            for k in range(per_class_subject):
                img = rng.normal(0.3, 0.05, size=(SIZE, SIZE, 3)).astype(np.float32)
                r, col = divmod(c, 3)
                img[r * 10 : r * 10 + 10, col * 10 : col * 10 + 10] += 0.6
                xs.append(np.clip(img, 0, 1))
                ys.append(c)
                subjects.append(s)
                ids.append(f"{s}_{CLASSES[c]}_{k}")
                neutral.append(base)
                apex.append(base + rng.normal(0, 0.3, size=(68, 2)).astype(np.float32))
    return dict(x=np.stack(xs), y=np.array(ys), subjects=np.array(subjects), sample_ids=np.array(ids),
                apex_landmarks=np.stack(apex), neutral_landmarks=np.stack(neutral), source=np.array("toy arrays"))


def make_model_folder(root: Path, steps: int = 60, flip: bool = False, members: int = 1) -> Path:
    """`root/model` (a trained tiny ECCNN folder) and `root/arrays.npz`; returns the model folder.

    flip: the trained model is saved wrapped by `flip_average` (as `flip_average: true` trains it).
    members: more than 1 trains that many (seeds 0, 1000, ...) and saves their `ensemble`.
    """
    import keras

    from mer_tf.models import build_model, flip_average, model_config, nll_loss
    from mer_tf.models.ensemble import ensemble, member_seed

    arrays = make_arrays()
    np.savez(root / "arrays.npz", **arrays)
    kwargs = dict(pooling_layers=2, local_region=True, filters=(4, 8), dense_units=16, dropout=0.1)
    train = ~np.isin(arrays["subjects"], TEST_SUBJECTS)
    fits = []
    for k in range(members):
        if k:  # member 0 is built as the single model always was
            keras.utils.set_random_seed(member_seed(0, k))
        model = build_model("eccnn", (SIZE, SIZE, 3), len(CLASSES), **kwargs)
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=nll_loss)
        keras.utils.set_random_seed(member_seed(0, k))
        model.fit(arrays["x"][train], arrays["y"][train], epochs=max(1, steps // 4), batch_size=16, verbose=0)
        fits.append(model)
    model = ensemble(fits) if members > 1 else fits[0]
    folder = root / "model"
    folder.mkdir()
    (flip_average(model, "apex") if flip else model).save(folder / "model.keras")
    config = {
        "model": "eccnn", "input": "apex", "size": SIZE, "data": str(root / "arrays.npz"), "dataset": "synthetic",
        "flip_average": flip, "ensemble": members,
        "model_config": model_config("eccnn", (SIZE, SIZE, 3), len(CLASSES), **kwargs),
        "split": {"train": [s for s in SUBJECTS if s not in TEST_SUBJECTS][:-1],
                  "val": [SUBJECTS[-2]], "test": list(TEST_SUBJECTS)},
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "labels.json").write_text(json.dumps(list(CLASSES)))
    (folder / "preprocess.json").write_text(json.dumps({"size": SIZE, "normalization": "unit"}))
    return folder
