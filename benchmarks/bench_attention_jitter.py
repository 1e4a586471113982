"""Jitter of every ECRL feature on a still face: the plain face mesh against the attention mesh.

No package we can reach ships a video of a held-still real face, so the still faces are real
photos made into still sequences: the 22 faces of the six group photos from the npm package
@vladmandic/face-api 1.7.15 (MIT; photos by its author, installed by `make models`), plus the
public-domain portraits that ship in scikit-image (astronaut) and matplotlib (Grace Hopper).
Each face is cut out at 2.5x its box, and every frame of its sequence is that cut-out plus
independent Gaussian pixel noise with the standard deviation measured on the photo itself
(Immerkaer's estimator: the photo's own sensor and JPEG noise; at least 1 grey level). So the
sequence is a still face with camera-like noise: what it measures is how much each landmarker's
output moves with sensor noise alone, not with micro head motion, blinks or flicker.

Both landmarkers see the same frames, through the runtime's face tracker (full-range BlazeFace,
re-detection every 10 frames). For every face and landmarker, each ECRL feature is computed on
every frame against the mean landmarks of the sequence (the neutral), and its jitter is its
standard deviation over the frames; the table gives the median over faces, side by side, the
ratio attention / plain (below 1: steadier), and on how many faces the attention mesh was
steadier. Landmark times are medians per call in the same run.

    python benchmarks/bench_attention_jitter.py [--frames 40] [--noise SIGMA] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import numpy as np

from mer_tf.ecrl.features import FEATURE_NAMES, extract_features
from mer_tf.faces import FaceTracker, create_detector, create_landmarker
from mer_tf.faces.sample_photos import MULTIFACE_SOURCE, load_multiface_photos, load_sample_photo
from mer_tf.faces.box import Box

TRUTH = os.path.join(os.path.dirname(__file__), "multiface_truth.json")
LANDMARKERS = ("mediapipe", "mediapipe-attention")
REGIONS = {"eyes": range(36, 48), "brows": range(17, 27), "mouth": range(48, 68), "nose": range(27, 36),
           "jaw": range(0, 17)}


def noise_sigma(image: np.ndarray) -> float:
    """Immerkaer's fast noise estimate (grey levels) of an image: the photo's own noise."""
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
    r = cv2.filter2D(g, -1, k)[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) * np.abs(r).sum() / (6.0 * r.size))


def faces() -> list[tuple[str, np.ndarray, float]]:
    """(name, cut-out at 2.5x the face box, the photo's noise sigma) for every still face."""
    out = []
    truth = json.load(open(TRUTH, encoding="utf-8"))["photos"]
    for name, photo in load_multiface_photos().items():
        sigma = noise_sigma(photo)
        for k, (x0, y0, x1, y1) in enumerate(truth[name]["faces"]):
            out.append((f"{name}#{k}", _cut(photo, Box(x0, y0, x1, y1)), sigma))
    for name in ("astronaut", "grace_hopper"):
        photo = load_sample_photo(name)
        box = create_detector("blazeface-full").detect(photo)[0]
        out.append((name, _cut(photo, box), noise_sigma(photo)))
    return out


def _cut(photo: np.ndarray, box: Box) -> np.ndarray:
    cx, cy = box.center
    half = 1.25 * max(box.width, box.height)
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = (int(max(0, cx - half)), int(max(0, cy - half)), int(min(w, cx + half)), int(min(h, cy + half)))
    return np.ascontiguousarray(photo[y0:y1, x0:x1])


def sequence(face: np.ndarray, sigma: float, frames: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(np.rint(face + rng.normal(0.0, sigma, face.shape)), 0, 255).astype(np.uint8) for _ in range(frames)]


def track(landmarker_name: str, frames: list[np.ndarray], landmarker) -> tuple[np.ndarray | None, list[float]]:
    """(frames, 68, 2) landmarks of the one face (None when it was lost), and per-call times (ms)."""
    times: list[float] = []

    class Timed:
        name = landmarker_name

        def landmarks(self, image, box):
            t = time.perf_counter()
            pts = landmarker.landmarks(image, box)
            times.append((time.perf_counter() - t) * 1000)
            return pts

        @property
        def last_score(self):
            return landmarker.last_score

    tracker = FaceTracker(create_detector("blazeface-full", num_threads=1), Timed(), redetect_every=10, max_faces=1)
    pts = []
    for f in frames:
        found = tracker.update(f)
        if len(found) != 1:
            return None, times
        pts.append(np.asarray(found[0].landmarks, np.float64))
    return np.stack(pts), times


def jitter(points: np.ndarray) -> dict[str, float]:
    """sd over frames of every ECRL feature (neutral: the mean shape) and of each region's points (IOD)."""
    neutral = points.mean(0)
    feats = np.array([[extract_features(p, neutral)[n] for n in FEATURE_NAMES] for p in points])
    out = dict(zip(FEATURE_NAMES, feats.std(0, ddof=1)))
    iod = np.linalg.norm(neutral[42:48].mean(0) - neutral[36:42].mean(0))
    for region, idx in REGIONS.items():
        d = np.linalg.norm(points[:, list(idx)] - neutral[list(idx)], axis=2)  # (frames, points)
        out[f"points_{region}"] = float(np.sqrt((d ** 2).mean()) / iod)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40, help="frames per still face (default 40)")
    parser.add_argument("--noise", type=float, default=None,
                        help="pixel noise sd in grey levels (default: each photo's measured noise, at least 1)")
    parser.add_argument("--json", default=None, help="also write every face's figures as JSON")
    args = parser.parse_args(argv)
    if args.frames < 5:
        parser.error(f"--frames {args.frames}: a standard deviation needs at least 5 frames; pass 5 or more.")
    marks = {n: create_landmarker(n, num_threads=1) for n in LANDMARKERS}
    stills = faces()
    print(f"still faces: {len(stills)} real faces ({MULTIFACE_SOURCE}; scikit-image astronaut, matplotlib "
          f"Grace Hopper), each {args.frames} frames of the same photo with independent pixel noise "
          f"({'sd %.2f' % args.noise if args.noise is not None else 'each photo its measured sd'}): "
          "a still sequence made from a photo, not a video")
    rows, times, lost = [], {n: [] for n in LANDMARKERS}, {n: [] for n in LANDMARKERS}
    for k, (name, face, sigma) in enumerate(stills):
        s = args.noise if args.noise is not None else max(1.0, sigma)
        frames = sequence(face, s, args.frames, seed=k)
        row = {"face": name, "size_px": int(max(face.shape[:2]) / 2.5), "noise_sd": round(s, 2)}
        for n in LANDMARKERS:
            pts, t = track(n, frames, marks[n])
            times[n] += t
            if pts is None:
                lost[n].append(name)
                continue
            row[n] = jitter(pts)
        rows.append(row)
    both = [r for r in rows if all(n in r for n in LANDMARKERS)]
    print(f"faces followed through every frame by both: {len(both)} of {len(rows)}"
          + "".join(f"; {n} lost {lost[n]}" for n in LANDMARKERS if lost[n]))
    print(f"noise sd used (grey levels): median {np.median([r['noise_sd'] for r in rows]):.2f}, "
          f"range {min(r['noise_sd'] for r in rows):.2f}-{max(r['noise_sd'] for r in rows):.2f}; "
          f"face sizes {min(r['size_px'] for r in rows)}-{max(r['size_px'] for r in rows)} px")
    keys = list(FEATURE_NAMES) + [f"points_{r}" for r in REGIONS]
    print("\n| jitter (sd over frames), median over faces | plain mesh | attention mesh | attention / plain "
          "| faces steadier with attention |")
    print("|---|---|---|---|---|")
    summary = {}
    for key in keys:
        a = np.array([r["mediapipe"][key] for r in both])
        b = np.array([r["mediapipe-attention"][key] for r in both])
        ma, mb = float(np.median(a)), float(np.median(b))
        ratio = mb / ma if ma > 0 else float("nan")
        summary[key] = {"plain": ma, "attention": mb, "ratio": ratio, "steadier": int((b < a).sum()), "faces": len(both)}
        unit = " (IOD, RMS)" if key.startswith("points_") else ""
        print(f"| {key}{unit} | {ma:.5f} | {mb:.5f} | {ratio:.2f} | {int((b < a).sum())}/{len(both)} |")
    tp, ta = float(np.median(times["mediapipe"])), float(np.median(times["mediapipe-attention"]))
    load = os.getloadavg()[0]
    print(f"\nlandmarks per call (median, 1 thread, same run): plain {tp:.2f} ms, attention {ta:.2f} ms "
          f"({ta / tp:.1f}x); load average {load:.1f} on {os.cpu_count()} cores")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"faces": rows, "summary": summary, "ms": {"plain": tp, "attention": ta}, "load": load}, fh,
                      indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
