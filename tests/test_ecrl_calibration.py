"""Calibration: thresholds fitted on labelled onset/apex pairs, saved to ecrl.json."""

import json

import numpy as np
import pytest

from mer_tf.ecrl import ECRL
from mer_tf.ecrl.rules import EVIDENCE
from tests.test_ecrl import EXPRESSIONS, NEUTRAL_IOD, similarity

LABELS = {"smile": "Happy", "surprise": "Surprise", "sad": "Sad", "disgust": "Disgust",
          "angry": "Angry", "fear": "Fear", "neutral": "Neutral"}


def clips(n_per_class, seed, intensity=(0.4, 1.0), noise=0.006):
    """Onset/apex pairs: the hand-built expressions at a random intensity, pose and landmark noise."""
    rng = np.random.default_rng(seed)
    apex, onset, labels = [], [], []
    for name, (full, _, _) in EXPRESSIONS.items():
        for _ in range(n_per_class):
            k = rng.uniform(*intensity)
            face = NEUTRAL_IOD + k * (full - NEUTRAL_IOD) + rng.normal(0, noise, NEUTRAL_IOD.shape)
            neutral = NEUTRAL_IOD + rng.normal(0, noise, NEUTRAL_IOD.shape)
            pose = (rng.uniform(-20, 20), rng.uniform(50, 150), rng.uniform(0, 500, 2))
            apex.append(similarity(face, *pose))
            onset.append(similarity(neutral, *pose))
            labels.append(LABELS[name])
    return np.array(apex), np.array(onset), labels


def agreement(ecrl, apex, onset, labels):
    hits = [ecrl.predict(a, n).label == (None if y == "Neutral" else y) for a, n, y in zip(apex, onset, labels)]
    return float(np.mean(hits))


def test_calibration_fits_thresholds_that_generalize(tmp_path):
    # weak expressions (a fifth to half of the hand-built ones): the defaults miss many of them
    apex, onset, labels = clips(12, seed=1, intensity=(0.2, 0.5))
    ecrl = ECRL.calibrate(apex, onset, labels)
    summary = ecrl.calibration
    assert summary["n_samples"] == len(labels) and summary["n_skipped"] == 0
    fitted = [name for name, e in summary["evidence"].items() if e["source"] == "fitted"]
    assert set(fitted) == set(EVIDENCE)  # every evidence has positives and negatives here
    assert all(ecrl.thresholds[name] >= 0.01 for name in EVIDENCE)  # the noise floor holds
    assert ecrl.thresholds != ECRL.default().thresholds

    test = clips(8, seed=2, intensity=(0.2, 0.5))  # new clips, same kind
    calibrated, default = agreement(ecrl, *test), agreement(ECRL.default(), *test)
    assert calibrated > default
    assert calibrated >= 0.6

    path = ecrl.save(tmp_path / "ecrl.json")
    again = ECRL.load(path)
    assert again.thresholds == ecrl.thresholds
    assert json.loads(path.read_text())["calibration"]["evidence"]["AU12"]["source"] == "fitted"


def test_too_few_samples_keep_the_defaults():
    apex, onset, labels = clips(1, seed=3)
    ecrl = ECRL.calibrate(apex, onset, labels, min_samples=5)  # AU1 has 3 positives here (Surprise, Fear, Sad)
    assert ecrl.thresholds == ECRL.default().thresholds
    assert all(e["source"].startswith("default") for e in ecrl.calibration["evidence"].values())


def test_unusable_pairs_are_skipped_and_counted():
    apex, onset, labels = clips(4, seed=4)
    apex[0, 10] = np.nan
    ecrl = ECRL.calibrate(apex, onset, labels)
    assert ecrl.calibration["n_skipped"] == 1 and ecrl.calibration["n_samples"] == len(labels) - 1


@pytest.mark.parametrize(
    "args, match",
    [
        (([], [], []), "at least one"),
        ((np.zeros((2, 68, 2)), np.zeros((3, 68, 2)), ["Happy", "Sad"]), "as many"),
        ((np.zeros((1, 68, 2)), np.zeros((1, 68, 2)), ["happiness"]), "Unknown labels"),
    ],
)
def test_bad_calibration_input(args, match):
    with pytest.raises(ValueError, match=match):
        ECRL.calibrate(*args)
