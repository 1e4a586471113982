"""The epoch trace: what choosing each fold's epoch on its own test subject would report."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mer_tf.epoch_trace import make_trace, read_trace, trace_scores
from mer_tf.metrics import pooled_scores

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["negative", "positive", "surprise"]


def _fold(name, truth, by_epoch):
    rows = [{"sample": f"{name}_{i}", "truth": t} for i, t in enumerate(truth)]
    return {"name": name, "rows": rows, "epoch_trace": [[CLASSES.index(p) for p in pred] for pred in by_epoch]}


def _trace():
    # fold a: right at epoch 2 only; fold b: right at epochs 1 and 3 (ties: the later one); 3 epochs each
    a = _fold("a", ["negative", "positive"], [["negative", "negative"], ["negative", "positive"],
                                              ["surprise", "surprise"]])
    b = _fold("b", ["surprise", "negative"], [["surprise", "negative"], ["negative", "negative"],
                                              ["surprise", "negative"]])
    return make_trace(CLASSES, [a, b])


def test_the_four_readings_of_a_trace():
    s = trace_scores(_trace())
    truth = ["negative", "positive", "surprise", "negative"]
    last = ["surprise", "surprise", "surprise", "negative"]
    assert s["last"]["uf1"] == pytest.approx(pooled_scores(truth, last, CLASSES)["uf1"])
    assert s["oracle"]["epochs"] == {"a": 2, "b": 3}
    assert s["oracle"]["uf1"] == pytest.approx(1.0) and s["oracle"]["uar"] == pytest.approx(1.0)
    per = [pooled_scores(truth, p, CLASSES)["uf1"] for p in (
        ["negative", "negative", "surprise", "negative"], ["negative", "positive", "negative", "negative"], last)]
    assert [p["uf1"] for p in s["per_epoch"]] == pytest.approx(per)
    assert s["best_epoch"]["epoch"] == 1 + per.index(max(per))
    assert s["oracle"]["uf1"] >= s["best_epoch"]["uf1"] >= s["last"]["uf1"]


def test_a_bad_trace_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="--trace-epochs"):
        read_trace(tmp_path)
    (tmp_path / "epoch_trace.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_trace(tmp_path)
    trace = _trace()
    trace["folds"][1]["pred_by_epoch"] = trace["folds"][1]["pred_by_epoch"][:2]
    (tmp_path / "epoch_trace.json").write_text(json.dumps(trace))
    with pytest.raises(ValueError, match="different numbers of epochs"):
        read_trace(tmp_path)
    bad = _fold("c", ["negative"], [["negative", "positive"]])
    with pytest.raises(ValueError, match="same test samples"):
        make_trace(CLASSES, [bad])


@pytest.mark.parametrize("flip_average", [False, True])
def test_loso_writes_a_trace_whose_last_epoch_is_the_report(tmp_path, flip_average):
    from mer_tf.training import TrainConfig, run_loso
    from test_training_helpers import make_samples

    samples = make_samples(tmp_path / "data", subjects=3)
    config = TrainConfig(data="unused", epochs=3, steps_per_epoch=2, batch_size=4, val_subjects=1, patience=0,
                         cache_dir=str(tmp_path / "cache"), ecrl=False, flip_average=flip_average)  # fmt: skip
    if flip_average:  # read through the mirror, as the report reads it; weight averaging has no per-epoch model
        with pytest.raises(ValueError, match="weight_average=2"):
            run_loso(config.with_overrides(weight_average=2), tmp_path / "wa", samples=samples, use_ray=False,
                     progress=False, trace_epochs=True)
        assert not (tmp_path / "wa").exists()
    result = run_loso(config, tmp_path / "loso", samples=samples, use_ray=False, progress=False, trace_epochs=True)
    trace = read_trace(tmp_path / "loso")
    assert [f["name"] for f in trace["folds"]] == [f["name"] for f in result.folds]
    assert all(len(f["pred_by_epoch"]) == 3 for f in trace["folds"])
    with open(tmp_path / "loso" / "predictions.csv") as fh:
        rows = {(r["fold"], r["sample"]): r for r in csv.DictReader(fh)}  # sample ids repeat across subjects
    for fold in trace["folds"]:  # the last epoch's trace is the report's own CNN column, sample by sample
        assert fold["pred_by_epoch"][-1] == [rows[fold["name"], k]["cnn"] for k in fold["samples"]]
        assert fold["truth"] == [rows[fold["name"], k]["truth"] for k in fold["samples"]]
    s = trace_scores(trace)
    assert s["last"]["uf1"] == pytest.approx(result.scores["cnn"]["all"]["uf1"])
    assert "epoch_trace" not in json.dumps(result.folds)  # the summaries stay small
    # the script: a table, and a plot that never replaces a file
    plot = tmp_path / "trace.png"
    args = [sys.executable, str(ROOT / "scripts/epoch_trace.py"), str(tmp_path / "loso"), "--plot", str(plot)]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert f"{s['last']['uf1']:.3f} / {s['last']['uar']:.3f}" in done.stdout and plot.stat().st_size > 1000
    again = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and "exists already" in again.stderr
    none = subprocess.run(args[:2] + [str(tmp_path / "data")], capture_output=True, text=True, cwd=ROOT)
    assert none.returncode == 2 and "--trace-epochs" in none.stderr


def test_the_trace_reads_each_epoch_through_the_mirror_when_the_report_does():
    """With flip_average the report predicts through the mirror wrapper; each epoch's trace must read it so too."""
    import keras
    import numpy as np

    from mer_tf.models import flip_average
    from mer_tf.training.loso import _test_trace

    keras.utils.set_random_seed(5)  # a large random linear read: its verdicts vary from image to image
    model = keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)),
                              keras.layers.Activation("log_softmax")])
    x = np.random.default_rng(5).uniform(0, 1, size=(40, 28, 28, 3)).astype("float32")
    single = model.predict(x, verbose=0).argmax(axis=1)
    both = flip_average(model, "flow_image").predict(x, verbose=0).argmax(axis=1)
    assert (single != both).any()  # the two readings differ here, so the check below can fail
    for mode, want in ((None, single), ("flow_image", both)):
        trace = _test_trace(x, mode)
        trace.set_model(model)
        trace.on_train_begin()
        trace.on_epoch_end(0)
        assert trace.predicted == [want.tolist()]
