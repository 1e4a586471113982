"""Benchmark of the TensorFlow-free core: ECRL, face detection, landmarks.

  python benchmarks/bench_core.py [--repeats 7] [--threads 1]

Prints medians over repeated runs (each run times a block of calls and
divides), side by side with ratios:
- ECRL features + rules + fusion per face (the target is < 50 us; the paper
  reports 0.5-1 ms for its ECRL);
- face detection per 640x480 frame: dlib HOG (grayscale, upsample 0) vs
  BlazeFace short range in LiteRT;
- 68 landmarks per face: dlib's shape predictor vs the MediaPipe face mesh in
  LiteRT (crop, 468 points, map to 68).
The frame is the astronaut photo placed in a 640x480 canvas (one face of
about 90 px); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the machine is shared
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def per_call(fn, calls: int, repeats: int) -> tuple[float, float]:
    """Medians over ``repeats`` runs of the mean wall and CPU seconds per call in a block of ``calls``.

    Wall time is the latency; CPU time (this process) is what the call costs
    when the machine is busy with other work and wall time includes waiting.
    """
    fn()  # warm-up (lazy allocations, caches)
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        walls.append((time.perf_counter() - t0) / calls)
        cpus.append((time.process_time() - c0) / calls)
    return statistics.median(walls), statistics.median(cpus)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per measurement; the median is printed")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads for the MediaPipe models")
    args = parser.parse_args(argv)

    import numpy as np

    from mer_tf.ecrl import ECRL, NeutralReference, extract_features
    from mer_tf.faces import create_detector, create_landmarker
    from mer_tf.faces.dlib_mean_shape import dlib_mean_shape
    from mer_tf.faces.sample_photos import load_sample_photo
    from mer_tf.fusion import FusionPolicy

    photo = load_sample_photo("astronaut")  # 512 x 512
    frame = np.full((480, 640, 3), 110, np.uint8)
    frame[:, 64:576] = photo[:480]
    dlib_det = create_detector("dlib")
    blaze = create_detector("blazeface", num_threads=args.threads)
    dlib_lm = create_landmarker("dlib")
    mp_lm = create_landmarker("mediapipe", num_threads=args.threads)
    box = dlib_det.detect(frame)[0]
    assert len(blaze.detect(frame)) == 1, "BlazeFace should find the astronaut"

    # ECRL: one face, its neutral prepared once (as on a stream or within a clip)
    apex = dlib_lm.landmarks(frame, box)
    ecrl, policy = ECRL.default(), FusionPolicy.paper()
    neutral = dlib_mean_shape() * 90 + (260.0, 60.0)
    ref = NeutralReference(neutral)

    def ecrl_face():
        verdict = ecrl.predict(apex, ref)
        return policy.fuse("Sad", verdict.label)

    rows = [
        ("ECRL features", per_call(lambda: extract_features(apex, ref), 2000, args.repeats), None),
        ("ECRL features+rules+fusion", per_call(ecrl_face, 2000, args.repeats), None),
        ("ECRL with a new neutral every call", per_call(lambda: policy.fuse("Sad", ecrl.predict(apex, NeutralReference(neutral)).label), 500, args.repeats), None),
    ]
    det = (per_call(lambda: dlib_det.detect(frame), 10, args.repeats), per_call(lambda: blaze.detect(frame), 50, args.repeats))
    lms = (per_call(lambda: dlib_lm.landmarks(frame, box), 100, args.repeats), per_call(lambda: mp_lm.landmarks(frame, box), 100, args.repeats))

    load = os.getloadavg()[0]
    print(f"mer-tf core benchmark (medians of {args.repeats} runs; 640x480 frame, one face; LiteRT threads={args.threads}; "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the end)")
    print()
    print("| Stage (per face) | Wall | CPU |")
    print("|---|---|---|")
    for name, (wall, cpu), _ in rows:
        print(f"| {name} | {fmt(wall)} | {fmt(cpu)} |")
    print()
    print("| Stage | dlib | MediaPipe (LiteRT) | dlib / MediaPipe |")
    print("|---|---|---|---|")
    for name, (a, b) in (("Face detection per 640x480 frame (HOG vs BlazeFace)", det),
                         ("68 landmarks per face (shape predictor vs face mesh)", lms)):
        print(f"| {name}, wall | {fmt(a[0])} | {fmt(b[0])} | {a[0] / b[0]:.2f}x |")
        print(f"| {name}, CPU | {fmt(a[1])} | {fmt(b[1])} | {a[1] / b[1]:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
