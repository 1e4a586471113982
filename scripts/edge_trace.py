"""Trace `mer-edge run` frame by frame, and compare two traces (the aarch64 check's evidence).

  python scripts/edge_trace.py trace BUNDLE FRAMES_DIR OUT.jsonl [--fps 30]
  python scripts/edge_trace.py compare A.jsonl B.jsonl

`trace` runs the same pipeline as `mer-edge run --every-frame` on a bundle and a
folder of decoded frames, and writes one JSON line per frame: every face's 68
landmarks, its live CNN and fused labels, and the micro-expression events the
frame closed. `compare` reports the largest landmark difference, the per-frame
label agreement and whether the events are the same (onset, apex and offset
frames, CNN, ECRL and fused labels); it exits 1 when events or labels differ.
Needs only the `[edge]` install (it runs on the board, or under emulation).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def trace(bundle: str, frames: str, out: str, fps: float, threads: int) -> int:
    from edge.bundle import open_bundle
    from edge.runtime import RunOptions, build_runner
    from edge.sources import open_source

    with open_bundle(bundle) as b, open(out, "w", encoding="utf-8") as fh:
        options = RunOptions(every_frame=True, threads=threads, fps=fps, models_dir=str(b.models_dir),
                             ecrl=str(b.ecrl) if b.ecrl else None)
        runner, _ = build_runner(b.model, options)
        with open_source(frames, fps=fps) as src:
            for frame in src:
                events, views = runner.process(frame)
                fh.write(json.dumps({
                    "frame": frame.index,
                    "faces": [{"id": v.face_id, "label": v.label,
                               "landmarks": np.round(np.asarray(v.landmarks, np.float64), 3).tolist()} for v in views],
                    "events": [_event_key(e) for e in events],
                }) + "\n")
        s = runner.summary
        print(f"traced {s.frames} frames: {s.events} events, {s.frames_with_faces} frames with faces, "
              f"frame errors {s.frame_errors}")
    return 0


def _event_key(e: dict) -> dict:
    return {"face_id": e["face_id"], "onset": e["onset"]["frame"], "apex": e["apex"]["frame"],
            "offset": e["offset"]["frame"], "cnn": e["cnn"]["label"], "ecrl": e["ecrl"]["label"],
            "fused": e["fused"]["label"]}


def compare(a_path: str, b_path: str) -> int:
    a = [json.loads(line) for line in open(a_path, encoding="utf-8")]
    b = [json.loads(line) for line in open(b_path, encoding="utf-8")]
    if len(a) != len(b):
        print(f"frames differ: {len(a)} vs {len(b)}")
        return 1
    worst, labels_equal, labelled, faces_differ = 0.0, 0, 0, 0
    events_a = [e for r in a for e in r["events"]]
    events_b = [e for r in b for e in r["events"]]
    for ra, rb in zip(a, b):
        if len(ra["faces"]) != len(rb["faces"]):
            faces_differ += 1
            continue
        for fa, fb in zip(ra["faces"], rb["faces"]):
            worst = max(worst, float(np.abs(np.asarray(fa["landmarks"]) - np.asarray(fb["landmarks"])).max()))
            if fa["label"] is not None or fb["label"] is not None:
                labelled += 1
                labels_equal += fa["label"] == fb["label"]
    same_events = events_a == events_b
    print(f"frames {len(a)}; frames whose face count differs {faces_differ}; largest landmark difference "
          f"{worst:.3f} px; per-frame labels equal {labels_equal}/{labelled}; events {len(events_a)} vs "
          f"{len(events_b)}: {'identical' if same_events else 'DIFFERENT'} (onset/apex/offset frames, CNN, ECRL, fused)")
    if not same_events:
        for ea, eb in zip(events_a, events_b):
            if ea != eb:
                print(f"  first difference: {ea} vs {eb}")
                break
    return 0 if same_events and labels_equal == labelled and faces_differ == 0 else 1


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
    args = parser.parse_args(argv)
    if args.command == "trace":
        return trace(args.bundle, args.frames, args.out, args.fps, args.threads)
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
