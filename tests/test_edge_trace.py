"""The aarch64 check's pass rule (edge.trace_compare), on a real x86 trace: a real label flip fails,
a near tie of the int8 CNN passes, and so do nothing else (events, landmarks, ECRL)."""

import copy
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import edge_support as es
from edge.bundle_writer import write_bundle
from edge.trace_compare import TraceComparison, read_trace

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "edge_trace.py"


@pytest.fixture(scope="module")
def x86_trace(tmp_path_factory):
    """`edge_trace.py trace` on a real bundle (the tiny int8 model) and 12 frames of a real face."""
    from mer_tf.ecrl import ECRL
    from mer_tf.faces.sample_photos import load_sample_photo

    d = tmp_path_factory.mktemp("trace")
    src = es.model_file("int8")
    shutil.copy2(src, d / "tiny_int8.tflite")
    shutil.copy2(src.with_suffix(".json"), d / "tiny_int8.json")
    ECRL.default().save(d / "ecrl.json")
    bundle = write_bundle(d / "tiny_int8.tflite", d / "bundle")
    frames = d / "frames"
    frames.mkdir()
    face = cv2.resize(load_sample_photo("grace_hopper"), (200, 235))
    for i in range(12):  # the face drifts a pixel a frame: the CNN sees different crops
        frame = np.full((300, 400, 3), 80, np.uint8)
        frame[30 + i % 3:265 + i % 3, 100 + i:300 + i] = face
        cv2.imwrite(str(frames / f"{i:06d}.png"), frame)
    out = d / "x86.jsonl"
    result = subprocess.run([sys.executable, str(SCRIPT), "trace", str(bundle["tarball"]), str(frames), str(out),
                             "--threads", "1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


def _records(path):
    meta, recs = read_trace(path)
    return meta, copy.deepcopy(recs)


def _labelled(recs):
    return [(r, f) for r in recs for f in r["faces"] if f["cnn"] is not None]


def _top2(face):
    return sorted(face["cnn_scores"], key=face["cnn_scores"].get, reverse=True)[:2]


def _logp(face, meta, label):
    return face["cnn_log_probs"][meta["labels"].index(label)]


def _set(face, meta, label, logp):
    face["cnn_log_probs"][meta["labels"].index(label)] = logp
    face["cnn_scores"][label] = round(math.exp(logp), 4)


def _lead(face, meta, winner, loser, steps):
    """``winner`` ``steps`` int8 output steps ahead of ``loser``, and the labels a platform then traces."""
    _set(face, meta, loser, _logp(face, meta, winner) - steps * meta["output_step"])
    if face["cnn"] != winner:
        if face["label"] == face["cnn"]:
            face["label"] = winner
        face["cnn"] = winner


def test_the_trace_holds_what_the_rule_reads(x86_trace):
    meta, recs = read_trace(x86_trace)
    assert meta["output_step"] > 0 and meta["machine"]  # an int8 output: log-probabilities in steps
    assert len(recs) == 12
    labelled = _labelled(recs)
    assert len(labelled) >= 10
    for _, f in labelled:
        assert f["cnn"] == max(f["cnn_scores"], key=f["cnn_scores"].get)
        assert len(f["landmarks"]) == 68


def test_identical_traces_agree(x86_trace):
    c = TraceComparison.of(read_trace(x86_trace), read_trace(x86_trace))
    assert c.passed and c.labels_equal == c.labelled and c.worst_landmark_px == 0
    assert c.lines()[-1].startswith("AGREE")


def test_the_scores_are_whole_int8_steps_apart(x86_trace):
    meta, recs = read_trace(x86_trace)
    for _, f in _labelled(recs):
        steps = (np.asarray(f["cnn_log_probs"]) - max(f["cnn_log_probs"])) / meta["output_step"]
        assert np.allclose(steps, np.round(steps), atol=1e-3)


def test_a_real_label_flip_fails(x86_trace):
    """A label one platform holds by more than two roundings explain fails, whichever platform it is."""
    meta, a = _records(x86_trace)
    # (a) x86 sure of its label (4 steps ahead), the other platform a step ahead with the runner-up
    _, b = _records(x86_trace)
    (rec, fa), (_, fb) = _labelled(a)[4], _labelled(b)[4]
    first, second = _top2(fa)
    _lead(fa, meta, first, second, 4)
    _lead(fb, meta, first, second, 0)
    _lead(fb, meta, second, first, 1)
    c = TraceComparison.of((meta, a), (meta, b))
    assert not c.passed and c.events_identical and c.worst_landmark_px == 0
    [d] = c.disagreements
    assert d["cause"] == "CNN" and not d["near_tie"] and d["frame"] == rec["frame"]
    assert any(f"frame {rec['frame']}" in line and "NOT a near tie" in line and "moved 5.00 steps" in line
               for line in c.lines()), c.lines()
    assert c.lines()[-1].startswith("DISAGREE")
    # (b) x86's label as traced, the other platform sure of the runner-up (3 steps ahead)
    meta, a = _records(x86_trace)
    _, b = _records(x86_trace)
    _, fb = _labelled(b)[4]
    first, second = _top2(fb)
    _lead(fb, meta, first, second, 0)
    _lead(fb, meta, second, first, 3)
    c = TraceComparison.of((meta, a), (meta, b))
    assert not c.passed and not c.disagreements[0]["near_tie"]


def test_a_near_tie_passes_and_a_move_of_three_steps_does_not(x86_trace):
    """x86 holds a label by one step; the other platform holds the runner-up by one: moved 2 steps."""
    meta, a = _records(x86_trace)
    _, b = _records(x86_trace)
    _, fa = _labelled(a)[3]
    _, fb = _labelled(b)[3]
    first, second = _top2(fa)
    _lead(fa, meta, first, second, 1)
    _lead(fb, meta, first, second, 0)
    _lead(fb, meta, second, first, 1)
    c = TraceComparison.of((meta, a), (meta, b))
    [d] = c.disagreements
    assert d["cause"] == "CNN" and d["near_tie"], c.lines()
    assert c.passed and c.labels_equal == c.labelled - 1
    assert any("near tie" in line and "moved 2.00 steps" in line for line in c.lines())
    # the other platform a step surer: three steps, more than a rounding of each score explains
    _lead(fb, meta, second, first, 2)
    c = TraceComparison.of((meta, a), (meta, b))
    assert not c.passed and not c.disagreements[0]["near_tie"]


def test_events_landmarks_and_ecrl_each_fail_alone(x86_trace):
    meta, a = _records(x86_trace)
    # landmarks: one point 1.5 px away
    _, b = _records(x86_trace)
    b[5]["faces"][0]["landmarks"][36][0] += 1.5
    c = TraceComparison.of((meta, a), (meta, b))
    assert not c.passed and c.worst_landmark_px == pytest.approx(1.5, abs=1e-6)
    # events: one event more on the other platform
    _, b = _records(x86_trace)
    b[7]["events"].append({"face_id": 0, "onset": 1, "apex": 3, "offset": 6, "cnn": "Happy", "ecrl": None,
                           "fused": "Happy"})
    c = TraceComparison.of((meta, a), (meta, b))
    assert not c.passed and not c.events_identical
    # ECRL: same CNN label, another ECRL label: never a near tie
    _, b = _records(x86_trace)
    _, face = _labelled(b)[2]
    face["ecrl"] = "Happy" if face["ecrl"] != "Happy" else "Sad"
    c = TraceComparison.of((meta, a), (meta, b))
    assert not c.passed and c.disagreements[0]["cause"] == "ECRL"
    # a frame less
    c = TraceComparison.of((meta, a), (meta, a[:-1]))
    assert not c.passed


def test_the_cli_exit_codes(x86_trace, tmp_path):
    meta, recs = _records(x86_trace)
    _, face = _labelled(recs)[0]
    first, second = _top2(face)
    _lead(face, meta, second, first, 4)
    flipped = tmp_path / "flipped.jsonl"
    flipped.write_text("\n".join(json.dumps(x) for x in [{"meta": meta}, *recs]) + "\n")
    old = tmp_path / "old.jsonl"  # a trace without the metadata line (from before the rule)
    old.write_text("\n".join(json.dumps(x) for x in recs) + "\n")

    def run(*args):
        return subprocess.run([sys.executable, str(SCRIPT), "compare", *map(str, args)], capture_output=True, text=True)

    assert run(x86_trace, x86_trace).returncode == 0
    r = run(x86_trace, flipped)
    assert r.returncode == 1 and "DISAGREE" in r.stdout
    r = run(x86_trace, old)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "old.jsonl" in r.stderr
