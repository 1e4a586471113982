"""The main job end to end on a minimal configuration (slow: trains, exports, runs the edge loop)."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_end_to_end_minimal(tmp_path):
    out, data = tmp_path / "run", tmp_path / "synth"
    cmd = [sys.executable, "-m", "mer_tf.cli", "demo", "--out", str(out), "--data", str(data),
           "--subjects", "6", "--clips-per-class", "1", "--frames", "9", "--holdout-subjects", "2",
           "--epochs", "1", "--loso-epochs", "1", "--max-folds", "2", "--no-ray"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Report:" in result.stdout
    for rel in ("report.md", "report.html", "model/model.keras", "model/config.json", "model/ecrl.json",
                "loso/predictions.csv", "loso/scores.json", "export/export.json", "compare/report.json",
                "edge/events.jsonl", "edge/annotated.mp4", "edge/bench.json"):
        assert (out / rel).is_file(), rel
    # every artifact loads
    from mer_tf import tflite_metadata
    from mer_tf.ecrl import ECRL

    manifest = json.loads((out / "export" / "export.json").read_text())
    assert {"float32", "float16", "dynamic", "int8"} <= set(manifest["variants"])
    for entry in manifest["variants"].values():
        meta = tflite_metadata.read(out / "export" / entry["file"])
        assert list(meta["labels"]) == manifest["labels"]
    ECRL.load(out / "model" / "ecrl.json")
    scores = json.loads((out / "loso" / "scores.json").read_text())
    assert set(scores["scores"]) == {"cnn", "ecrl", "fused"}
    report = (out / "report.md").read_text()
    for heading in ("Leave-one-subject-out", "Float vs quantized", "Edge runtime", "Per-stage latency"):
        assert heading in report
    # a second run reuses every step
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("already built") >= 6
