"""edge.bench: every stage timed, the peer comparison, the memory check, the `mer-edge bench` command."""

import json
import subprocess
import sys

import pytest

import edge_support as es
from edge.bench import STAGES, bench, format_report, memory_check
from edge.runtime import RunOptions

OPTIONS = RunOptions(detector="blazeface", landmarks="mediapipe", threads=1, redetect_every=5)


def test_bench_times_every_stage_and_compares_with_the_peer():
    r = bench(es.model_file("int8"), frames=20, options=OPTIONS, warmup=3)
    assert r["frames"] == 20 and r["frame_sizes"] == [(640, 480)]
    for stage in ("detect", "track", "landmarks", "preprocess", "cnn", "ecrl", "fusion", "total"):
        assert stage in r["stages"], stage
    assert list(r["stages"]) == [s for s in STAGES if s in r["stages"]]
    assert "flow" not in r["stages"] and r["input_mode"] == "apex"  # an apex model computes no flow
    assert r["stages"]["landmarks"]["calls"] == 20  # one face, every frame
    assert 1 <= r["stages"]["detect"]["calls"] <= 6  # tracking: the detector runs every 5th frame
    total = r["stages"]["total"]["frame_median_ms"]
    assert 0 < r["stages"]["cnn"]["call_median_ms"] < total
    p = r["peer_comparison"]
    assert p["ours_median_ms"] > 0 and p["peer_median_ms"] > 0
    assert abs(p["speedup_vs_peer"] - p["peer_median_ms"] / p["ours_median_ms"]) < 1e-9
    assert r["fps"] > 0 and r["memory_mb"]["peak_rss"] > 0 and r["faces"]["frame_errors"] == 0
    text = format_report(r)
    assert "| cnn |" in text and "the peer's speed" in text


def test_bench_times_the_flow_of_a_flow_model():
    r = bench(es.model_file("int8", "flow"), frames=20, options=OPTIONS, warmup=3)
    assert r["input_mode"] == "flow" and r["flow_method"] == "dis" and r["frames"] == 20
    assert list(r["stages"]) == [s for s in STAGES if s in r["stages"]]
    # one face with a neutral frame on every timed frame: one flow (and one CNN call) each
    assert r["stages"]["flow"]["calls"] == r["stages"]["cnn"]["calls"] == 20
    assert 0 < r["stages"]["flow"]["call_median_ms"] < r["stages"]["total"]["frame_median_ms"]
    assert r["peer_comparison"]["ours_median_ms"] > 0 and r["faces"]["frame_errors"] == 0
    text = format_report(r)
    assert "| flow |" in text and "dis optical flow" in text


@pytest.mark.parametrize("input_mode", ["apex", "flow"])
def test_memory_stays_flat_over_a_long_run(input_mode):
    m = memory_check(es.model_file("int8", input_mode), frames=600, every=200, size=(320, 240),
                     options=OPTIONS)
    assert m["frames"] == 600 and [n for n, _ in m["samples"]] == [200, 400, 600]
    assert m["frames_with_faces"] == 600 and m["frame_errors"] == 0
    # keeping a 320x240 frame per step would add ~90 MB over 400 frames
    assert m["growth_mb"] < 15, m["samples"]


def test_cli_bench_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "edge.cli", "bench", str(es.model_file("int8")), "--frames", "12",
                             "--threads", "1", "--json", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| landmarks |" in result.stdout
    data = json.loads(out.read_text())
    assert data["frames"] == 12 and data["threads"] == 1 and "cnn" in data["stages"]
