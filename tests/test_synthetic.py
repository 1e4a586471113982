"""The synthetic set on a tiny configuration: deterministic, read back by the loader, labels match motion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mer_tf.datasets import load_dataset, loso_splits
from mer_tf.datasets.synthetic import detection_rate, generate
from mer_tf.datasets.synthetic.action_units import EMOTIONS, action_unit_code, face_frame
from mer_tf.labels import CLASSES

TINY = dict(subjects=2, clips_per_class=1, frames=4, size=240, workers=1, progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth") / "set", seed=3, **TINY)


def test_loader_reads_it_back(tiny):
    report = load_dataset(tiny)  # auto-detected
    assert report.name == "synthetic" and not report.quirks
    assert len(report.samples) == 14
    counts = report.counts()["synthetic"]
    assert counts["seven"] == {c: 2 for c in CLASSES} | {"excluded": 0}
    assert counts["megc3"] == {"negative": 8, "positive": 2, "surprise": 2, "excluded": 2}
    manifest = json.loads((tiny / "synthetic.json").read_text())
    assert {s.subject: s.group for s in report.samples} == {"sub01": "astronaut", "sub02": "grace_hopper"}
    assert manifest["subjects"]["sub01"]["group"] == "astronaut" and manifest["frames"] == 56
    for s in report.samples:
        assert len(s.frames) == 4 and s.onset == 0 and s.offset == 3 and 0 < s.apex < 3
        assert s.action_units == action_unit_code(s.label7)
        assert list(s.frame_numbers) == list(range(s.frame_numbers[0], s.frame_numbers[0] + 4))
        assert np.load(s.landmarks).shape == (4, 68, 2)
    neutral = [s for s in report.samples if s.label7 == "Neutral"]
    assert {s.raw_label for s in neutral} == {"neutral"} and all(s.label3 is None for s in neutral)


def test_deterministic_for_a_seed(tiny, tmp_path):
    again = generate(tmp_path / "again", seed=3, **TINY)
    other = generate(tmp_path / "other", seed=4, **TINY)
    a = load_dataset(tiny).samples
    b = load_dataset(again).samples
    c = load_dataset(other).samples
    assert [s.frame_numbers for s in a] == [s.frame_numbers for s in b]
    for x, y in zip(a, b):
        assert all(p.read_bytes() == q.read_bytes() for p, q in zip(x.frames, y.frames))
        np.testing.assert_array_equal(np.load(x.landmarks), np.load(y.landmarks))
    assert any(p.read_bytes() != q.read_bytes() for x, y in zip(a, c) for p, q in zip(x.frames, y.frames))


def _apex_motion(sample):
    """Apex minus onset landmarks in the face frame, in face widths: (68, 2) (outward-agnostic x, down y)."""
    lm = np.load(sample.landmarks).astype(np.float64)
    x_axis, y_axis, width, _ = face_frame(lm[sample.onset])
    delta = lm[sample.apex] - lm[sample.onset]
    # remove the rigid head drift: align on the eye corners and nose, which AUs barely move
    stable = [36, 39, 42, 45, 27, 30]
    delta = delta - delta[stable].mean(axis=0)
    return np.stack([delta @ x_axis, delta @ y_axis], 1) / width


def test_landmark_motion_matches_the_label(tiny):
    for s in load_dataset(tiny).samples:
        motion = _apex_motion(s)
        brows_up = -motion[[19, 20, 21, 22, 23, 24], 1].mean()
        corners_up = -motion[[48, 54], 1].mean()
        spread = np.linalg.norm(motion, axis=1).max()
        if s.label7 == "Neutral":
            assert spread < 0.02, s.key  # only the small distractor twitches
        else:
            assert spread > 0.015, s.key  # micro: a few percent of the face width
            assert spread < 0.12, s.key
        if s.label7 == "Happy":
            assert corners_up > 0.01, s.key
        if s.label7 == "Surprise":
            assert brows_up > 0.01, s.key
        if s.label7 == "Sad":
            assert corners_up < -0.005, s.key


def test_emotions_cover_the_seven_classes():
    assert tuple(EMOTIONS) == CLASSES
    assert action_unit_code("Happy") == "6+12" and action_unit_code("Neutral") == ""


def test_dlib_finds_the_faces(tiny):
    rate = detection_rate(tiny)
    assert rate.frames == 56
    assert rate.rate >= 0.95, rate.misses


def test_group_loso_holds_out_a_photo(tiny):
    folds = list(loso_splits(load_dataset(tiny).samples, n_val_subjects=0, group_by="group"))
    assert [f.test_subject for f in folds] == ["astronaut", "grace_hopper"]


def test_refuses_to_overwrite_and_bad_settings(tiny, tmp_path):
    with pytest.raises(FileExistsError, match="overwrite"):
        generate(tiny, **TINY)
    with pytest.raises(ValueError, match="frames=2"):
        generate(tmp_path / "x", **{**TINY, "frames": 2})


def test_cli_writes_a_set_and_reports_detection(tmp_path, capsys):
    from mer_tf.cli import main

    out = tmp_path / "cli_set"
    argv = ["data", "synth", str(out), "--subjects", "2", "--clips-per-class", "1", "--frames", "3",
            "--workers", "1", "--seed", "1", "--detection-rate"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "14 clips, 42 frames, 2 subjects" in text and "dlib face detection (synthetic frames): " in text
    assert main(argv) == 2  # exists: refused, with the fix named
    assert "pass --overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_worker_processes_give_the_same_set(tiny, tmp_path):
    parallel = generate(tmp_path / "parallel", seed=3, **{**TINY, "workers": 2})
    for x, y in zip(load_dataset(tiny).samples, load_dataset(parallel).samples):
        assert all(p.read_bytes() == q.read_bytes() for p, q in zip(x.frames, y.frames))


def test_classes_separate_on_ground_truth_landmarks(tiny):
    """Learnable: train on one subject, test on the other (another photo), nearest class centroid."""
    samples = load_dataset(tiny).samples
    feats = {s.key: _apex_motion(s).ravel() for s in samples}
    correct = 0
    for test_subject in ("sub01", "sub02"):
        train = [s for s in samples if s.subject != test_subject]
        centroids = {s.label7: feats[s.key] for s in train}  # one clip per class
        for s in (s for s in samples if s.subject == test_subject):
            guess = min(centroids, key=lambda c: np.linalg.norm(feats[s.key] - centroids[c]))
            correct += guess == s.label7
    assert correct / len(samples) >= 0.7, correct


def test_misaligned_landmarks_are_reported_not_used(tiny, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    clip = copy / "CASME2_RAW_selected" / "sub01" / "EP02_01"
    min(clip.glob("img*.jpg"), key=lambda p: int(p.stem[3:])).write_bytes(b"")  # the onset frame, unreadable
    report = load_dataset(copy)
    sample = next(s for s in report.samples if s.key == "synthetic/sub01/EP02_01")
    assert sample.landmarks is None and len(sample.frames) == 3
    assert any("landmarks file landmarks.npy has shape (4, 68, 2), expected (3, 68, 2)" in q.what for q in report.quirks)
