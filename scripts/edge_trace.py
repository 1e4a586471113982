"""Trace `mer-edge run` frame by frame, and compare two traces (the aarch64 check's evidence).

  python scripts/edge_trace.py trace BUNDLE FRAMES_DIR OUT.jsonl [--fps 30]
  python scripts/edge_trace.py compare A.jsonl B.jsonl [--landmark-tol 1] [--tie-steps 2]

`trace` runs the same pipeline as `mer-edge run --every-frame` on a bundle and a
folder of decoded frames, and writes a metadata line (the model's int8 output
step, the platform), then one JSON line per frame: every face's 68 landmarks, its
live CNN scores, its CNN, ECRL and fused labels, and the micro-expression events
the frame closed. `compare` applies the pass rule of `edge.trace_compare` (events
identical, landmarks within a pixel tolerance, every label difference a CNN near
tie on both platforms), prints every label difference with its margins, and
exits 1 when the traces disagree. Needs only the `[edge]` install (it runs on the
board, or under emulation).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

import numpy as np


def trace(bundle: str, frames: str, out: str, fps: float, threads: int) -> int:
    from edge.bundle import open_bundle
    from edge.runtime import RunOptions, build_runner
    from edge.sources import open_source

    with open_bundle(bundle) as b, open(out, "w", encoding="utf-8") as fh:
        options = RunOptions(every_frame=True, threads=threads, fps=fps, models_dir=str(b.models_dir),
                             ecrl=str(b.ecrl) if b.ecrl else None)
        runner, info = build_runner(b.model, options)
        fh.write(json.dumps({"meta": {"model": info.path.name, "labels": list(info.labels),
                                      "output_step": runner.classifier.output_step,
                                      "machine": platform.machine()}}) + "\n")
        with open_source(frames, fps=fps) as src:
            for frame in src:
                events, views = runner.process(frame)
                fh.write(json.dumps({
                    "frame": frame.index,
                    "faces": [_face(v) for v in views],
                    "events": [_event_key(e) for e in events],
                }) + "\n")
        s = runner.summary
        print(f"traced {s.frames} frames: {s.events} events, {s.frames_with_faces} frames with faces, "
              f"frame errors {s.frame_errors}")
    return 0


def _face(v) -> dict:
    live = v.live or {}
    return {"id": v.face_id, "label": v.label,
            "cnn": live.get("cnn", {}).get("label"), "ecrl": live.get("ecrl", {}).get("label"),
            "cnn_scores": live.get("cnn", {}).get("scores"),
            "reference_frame": live.get("input", {}).get("reference_frame"),  # a flow model's neutral frame
            # unrounded: an int8 model's log-probabilities differ by whole output steps
            "cnn_log_probs": None if v.log_probs is None else [float(x) for x in v.log_probs],
            "landmarks": np.round(np.asarray(v.landmarks, np.float64), 3).tolist()}


def _event_key(e: dict) -> dict:
    return {"face_id": e["face_id"], "onset": e["onset"]["frame"], "apex": e["apex"]["frame"],
            "offset": e["offset"]["frame"], "cnn": e["cnn"]["label"], "ecrl": e["ecrl"]["label"],
            "fused": e["fused"]["label"]}


def compare(a_path: str, b_path: str, landmark_tol: float, tie_steps: float) -> int:
    from edge.trace_compare import TraceComparison, read_trace

    try:
        result = TraceComparison.of(read_trace(a_path), read_trace(b_path), landmark_tol, tie_steps)
    except ValueError as err:
        print(f"edge_trace: error: {err}", file=sys.stderr)
        return 2
    print("\n".join(result.lines()))
    return 0 if result.passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("trace", help="run a bundle on a frame folder and write the per-frame trace")
    t.add_argument("bundle")
    t.add_argument("frames")
    t.add_argument("out")
    t.add_argument("--fps", type=float, default=30.0)
    t.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("compare", help="compare two traces")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--landmark-tol", type=float, default=1.0, help="pixels (default 1)")
    c.add_argument("--tie-steps", type=float, default=2,
                   help="a label difference passes only as a CNN near tie within this many int8 output steps "
                        "on both platforms (default 2)")
    args = parser.parse_args(argv)
    if args.command == "trace":
        return trace(args.bundle, args.frames, args.out, args.fps, args.threads)
    return compare(args.a, args.b, args.landmark_tol, args.tie_steps)


if __name__ == "__main__":
    sys.exit(main())
