"""LOSO: no leakage in any fold of any dataset view; an inline run end to end."""

import csv
import json
from pathlib import Path

import pytest

from mer_tf.datasets.sample import Sample
from mer_tf.labels import CLASSES, MEGC3
from mer_tf.metrics import pooled_scores
from mer_tf.training import TrainConfig, run_loso
from mer_tf.training.loso import make_folds
from test_training_helpers import make_samples


def _view(dataset, subjects, per_subject, labels, group_of=lambda s: s):
    out = []
    for s in subjects:
        for i in range(per_subject):
            label7 = labels[(i + len(s)) % len(labels)]
            out.append(Sample(dataset, s, f"{s}_clip{i}", (Path(f"/x/{dataset}/{s}/{i}.jpg"),), 0, 0, 0,
                              label7.lower(), label7, None, group=group_of(s)))  # fmt: skip
    return out


VIEWS = {
    "casme2": _view("casme2", [f"sub{i:02d}" for i in range(1, 9)], 4, ["Happy", "Disgust", "Surprise", "Sad"]),
    "samm": _view("samm", [f"{i:03d}" for i in (6, 7, 9, 11, 12)], 3, ["Angry", "Happy", "Fear"]),
    "smic": _view("smic", [f"s{i}" for i in range(1, 6)], 3, ["Happy", "Surprise", "Sad"]),
    "synthetic": _view("synthetic", [f"syn{i:02d}" for i in range(6)], 5, list(CLASSES), lambda s: f"photo{int(s[-1]) % 2}"),
}
VIEWS["composite"] = VIEWS["casme2"] + VIEWS["samm"] + VIEWS["smic"]


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("group_by", ["subject", "group"])
def test_no_test_subject_in_train_or_val_of_any_fold(view, group_by):
    samples = VIEWS[view]
    config = TrainConfig(val_subjects=2, loso_group_by=group_by)
    folds = make_folds(config, samples)
    unit = (lambda s: (s.dataset, s.subject)) if group_by == "subject" else (lambda s: s.group or s.subject)
    assert len(folds) == len({unit(s) for s in samples})  # one fold per subject (or group)
    seen_test = []
    for fold in folds:
        test_keys = {s.key for s in fold["test"]}
        fit_keys = {s.key for s in fold["train"] + fold["val"]}
        assert test_keys and test_keys.isdisjoint(fit_keys), fold["name"]
        test_units = {unit(s) for s in fold["test"]}
        assert test_units.isdisjoint({unit(s) for s in fold["train"] + fold["val"]}), fold["name"]
        test_subjects = {(s.dataset, s.subject) for s in fold["test"]}
        assert test_subjects.isdisjoint({(s.dataset, s.subject) for s in fold["train"] + fold["val"]})
        # validation subjects are training-fold subjects, disjoint from training
        assert {s.subject for s in fold["val"]}.isdisjoint({s.subject for s in fold["train"]})
        assert len(test_keys | fit_keys) == len(samples)
        seen_test += [s.key for s in fold["test"]]
    assert sorted(seen_test) == sorted(s.key for s in samples)  # every sample tested exactly once


def test_loso_inline_end_to_end_on_the_synthetic_set(tmp_path):
    from mer_tf.datasets.synthetic import generate

    data = generate(tmp_path / "synthetic", subjects=3, clips_per_class=1, frames=4, workers=1, progress=False)
    config = TrainConfig(data=str(data), dataset="synthetic", epochs=1, steps_per_epoch=2, batch_size=4,
                         val_subjects=1, cache_dir=str(tmp_path / "cache"))  # fmt: skip
    result = run_loso(config, tmp_path / "loso", use_ray=False, progress=False)
    assert len(result.folds) == 3
    for name in ("predictions.csv", "scores.json", "summary.txt", "confusion_cnn_all.png", "confusion_fused_all.png"):
        assert result.paths[name].is_file(), name
    with open(result.paths["predictions.csv"]) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * 7  # 3 subjects x 7 classes x 1 clip, each predicted once
    for r in rows:
        assert r["fold"] == r["subject"]  # predicted by the fold that held its subject out
    # Every number can be recomputed from the CSV.
    saved = json.loads(result.paths["scores.json"].read_text())
    for column in ("cnn", "ecrl", "fused"):
        classes = saved["scores"][column]["all"]["classes"]
        again = pooled_scores([r["truth"] for r in rows], [r[column] for r in rows], classes)
        assert saved["scores"][column]["all"]["uf1"] == pytest.approx(again["uf1"])
        assert saved["scores"][column]["all"]["confusion"] == again["confusion"]
    assert saved["synthetic"] is True and saved["protocol"].startswith("leave-one-subject-out")
    assert set(result.ms_per_sample) >= {"cnn", "detect", "landmarks", "preprocess", "ecrl", "fusion"}


@pytest.mark.slow
def test_loso_through_ray(tmp_path):
    samples = make_samples(tmp_path / "data", subjects=3)
    config = TrainConfig(data="unused", epochs=1, steps_per_epoch=2, batch_size=4, val_subjects=1,
                         cache_dir=str(tmp_path / "cache"), ecrl=False)  # fmt: skip
    result = run_loso(config, tmp_path / "loso", samples=samples, use_ray=True, max_folds=2, progress=False)
    assert [f["name"] for f in result.folds] == ["sub00", "sub01"]
    assert result.scores["cnn"]["all"]["n"] == sum(1 for s in samples if s.subject in ("sub00", "sub01"))


def test_megc3_classes_for_the_composite():
    assert TrainConfig(dataset="composite").class_names == MEGC3
    assert TrainConfig(dataset="casme2").class_names == CLASSES


def test_evaluate_leaves_out_seen_subjects(tmp_path):
    from mer_tf.training import evaluate_model, train

    samples = make_samples(tmp_path / "data", subjects=3)
    config = TrainConfig(data="unused", epochs=1, steps_per_epoch=2, batch_size=4, val_subjects=1,
                         cache_dir=str(tmp_path / "cache"))  # fmt: skip
    train_part = [s for s in samples if s.subject != "sub02"]
    train(config, tmp_path / "model", samples=train_part, progress=False)
    result = evaluate_model(tmp_path / "model", tmp_path / "data", tmp_path / "eval", dataset="synthetic",
                            progress=False, samples=samples)  # fmt: skip
    with open(result.paths["predictions.csv"]) as fh:
        rows = list(csv.DictReader(fh))
    assert {r["subject"] for r in rows} == {"sub02"}  # the only unseen subject
    assert {"cnn", "ecrl", "fused"} <= set(result.scores)
