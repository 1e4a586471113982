"""edge.bench: every stage timed, the peer comparison, the memory check, the `mer-edge bench` command."""

import json
import subprocess
import sys

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


def test_memory_stays_flat_over_a_long_run():
    m = memory_check(es.model_file("int8"), frames=600, every=200, size=(320, 240),
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
