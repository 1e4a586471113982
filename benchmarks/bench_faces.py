"""Face detection on real multi-face photos: the default detector against dlib HOG, side by side.

Six real group photos (1920 px wide, 22 faces, counted and boxed by eye in
benchmarks/multiface_truth.json) from the npm package @vladmandic/face-api
1.7.15 (MIT; photos by its author), put in place by `make models`. Three
frame kinds: the photo as it is; the photo at its own size in a 3840x2160
frame (the same faces, now far from the camera: 4K); and the photo upscaled
2x (4K, faces as large as before relative to the frame). A face counts as
found when a box covers its truth box's centre with IoU >= 0.3; other boxes
are false detections. Times are medians over repeats, one thread each, in one run.

    python benchmarks/bench_faces.py [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from mer_tf.faces import create_detector
from mer_tf.faces.box import Box
from mer_tf.faces.sample_photos import MULTIFACE_SOURCE, load_multiface_photos, multiface_photos_dir

TRUTH = Path(__file__).with_name("multiface_truth.json")
DEFAULT = ("blazeface-full", 1920)  # edge.runtime.RunOptions' default detector and tile
CANDIDATES = [("dlib", None), ("blazeface", None), ("blazeface-full", None), DEFAULT]


def frames(photo: np.ndarray, kind: str) -> tuple[np.ndarray, float, tuple[int, int]]:
    """(frame, scale, offset): the frame and how truth boxes map into it."""
    if kind == "photo":
        return photo, 1.0, (0, 0)
    if kind == "4k_far":
        h, w = photo.shape[:2]
        frame = np.full((2160, 3840, 3), 60, np.uint8)
        y, x = (2160 - h) // 2, (3840 - w) // 2
        frame[y:y + h, x:x + w] = photo
        return frame, 1.0, (x, y)
    if kind == "4k_upscaled":
        return cv2.resize(photo, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR), 2.0, (0, 0)
    raise ValueError(kind)


def score(found: list[Box], truth: list[Box]) -> tuple[int, int]:
    """(faces found, false detections): each truth face matched at most once."""
    used: set[int] = set()
    hits = 0
    for t in truth:
        cx, cy = t.center
        best = [(t.iou(b), i) for i, b in enumerate(found)
                if i not in used and b.x0 <= cx <= b.x1 and b.y0 <= cy <= b.y1 and t.iou(b) >= 0.3]
        if best:
            used.add(max(best)[1])
            hits += 1
    return hits, len(found) - len(used)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per photo (median)")
    parser.add_argument("--json", default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    photos = load_multiface_photos()
    truth_file = json.loads(TRUTH.read_text())["photos"]
    for name, entry in truth_file.items():
        got = hashlib.sha256((multiface_photos_dir() / name).read_bytes()).hexdigest()
        if got != entry["sha256"]:
            raise SystemExit(f"{name} is not the photo the truth boxes were drawn on (SHA-256 {got[:12]}...); "
                             "reinstall the photos with `python scripts/install_models.py ... --photos ... --force`.")
    detectors = {(n, t): create_detector(n, tile=t, **({"num_threads": 1} if n != "dlib" else {}))
                 for n, t in CANDIDATES}
    total = sum(len(e["faces"]) for e in truth_file.values())
    print(f"photos: {MULTIFACE_SOURCE}; {len(photos)} photos, {total} faces (boxed by eye); "
          f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    rows = []
    for kind in ("photo", "4k_far", "4k_upscaled"):
        per: dict = {}
        for key, det in detectors.items():
            found = false = 0
            times = []
            for name, photo in photos.items():
                frame, scale, (ox, oy) = frames(photo, kind)
                truth = [Box(x0 * scale + ox, y0 * scale + oy, x1 * scale + ox, y1 * scale + oy)
                         for x0, y0, x1, y1 in truth_file[name]["faces"]]
                det.detect(frame)  # warm-up
                ts = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    boxes = det.detect(frame)
                    ts.append(time.perf_counter() - t0)
                times.append(float(np.median(ts)) * 1e3)
                h, f = score(boxes, truth)
                found, false = found + h, false + f
            per[key] = {"found": found, "false": false, "ms": float(np.median(times))}
        base = per[("dlib", None)]["ms"]
        size = frames(next(iter(photos.values())), kind)[0].shape
        print(f"\n{kind}: frames {size[1]}x{size[0]}\n| detector | faces found / {total} | false | median ms/photo | x dlib's speed |")
        print("|---|---:|---:|---:|---:|")
        for (n, t), r in per.items():
            label = n + (f" + tiles {t}" if t else "") + (" (default)" if (n, t) == DEFAULT else "")
            print(f"| {label} | {r['found']} | {r['false']} | {r['ms']:.1f} | {base / r['ms']:.1f} |")
            rows.append({"frames": kind, "detector": n, "tile": t, **r, "speedup_vs_dlib": base / r["ms"]})
        d, b = per[DEFAULT], per[("dlib", None)]
        print(f"default vs dlib HOG on {kind}: {d['found']} vs {b['found']} faces found, "
              f"{d['false']} vs {b['false']} false, {b['ms'] / d['ms']:.1f}x faster")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
