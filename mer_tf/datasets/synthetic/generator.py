"""`generate`: the synthetic micro-expression set, written in the CASME II layout.

    OUT/CASME2_RAW_selected/sub01/EP02_01/img1234.jpg ...   frames (N not zero-padded)
    OUT/CASME2_RAW_selected/sub01/EP02_01/landmarks.npy    (frames, 68, 2) float32 ground truth
    OUT/CASME2-coding-synthetic.xlsx                       CASME II's columns, incl. the blank ones
    OUT/synthetic.json                                     settings, subjects, their source photo (group)

The same loader reads it (`load_dataset(OUT)` detects "synthetic").
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_tf.labels import CLASSES

log = logging.getLogger(__name__)

SHEET_NAME = "CASME2-coding-synthetic.xlsx"
SHEET_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                "Estimated Emotion"]


@dataclass(frozen=True)
class SynthConfig:
    """Settings of the synthetic set; the defaults make the demo's set.

    12 subjects x 7 classes x 2 clips x 12 frames of 240x240 = 168 clips,
    2016 frames (~20 MB): generated in well under 2 minutes on 2 cores, and
    small enough for LOSO training in the demo's ~10 minutes.

    Args:
        subjects: synthetic subjects (>= 1); they cycle over the source photos,
            alternately mirrored, so 12 gives 6 per photo.
        clips_per_class: clips of each of the seven classes per subject.
        frames: frames per clip (>= 3); 12 covers onset, a 4-7 frame rise and the fall.
        size: frame side in pixels; 240 puts the face at 100-130 px, above dlib
            HOG's ~80 px minimum, with room for pose and scale changes.
        seed: everything is drawn from it: same seed, same set.
        amplitude: unit AU displacement as a fraction of face width. 0.045 moves
            brows and lip corners 2-6% of the face width (3-7 px here) at the
            apex: subtle, yet a linear model on dlib landmarks tells the seven
            classes apart well above chance under LOSO (see datasets/synthetic.md).
        workers: processes rendering subjects in parallel (1: in-process). Workers
            are spawned, so a calling script needs `if __name__ == "__main__":`
            (otherwise generation falls back to one process, with a warning).
    """

    subjects: int = 12
    clips_per_class: int = 2
    frames: int = 12
    size: int = 240
    seed: int = 0
    amplitude: float = 0.045
    workers: int = 1

    def validate(self) -> "SynthConfig":
        checks = {"subjects": self.subjects >= 1, "clips_per_class": self.clips_per_class >= 1,
                  "frames": self.frames >= 3, "size": 96 <= self.size <= 1024, "workers": self.workers >= 1,
                  "amplitude": 0 < self.amplitude <= 0.2}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"SynthConfig.{name} out of range. Received: {name}={getattr(self, name)!r} "
                                 "(subjects/clips_per_class/workers >= 1, frames >= 3, 96 <= size <= 1024, "
                                 "0 < amplitude <= 0.2)")
        return self


def _render_subject(task: tuple) -> list[dict]:
    """Render every clip of one subject into `root`; returns the sheet rows (runs in a worker)."""
    from mer_tf.datasets.synthetic.action_units import RAW_LABELS, action_unit_code
    from mer_tf.datasets.synthetic.clip import render_clip
    from mer_tf.datasets.synthetic.identity import make_identity

    cv2.setNumThreads(1)
    root, config, index, source = task
    subject = f"sub{index + 1:02d}"
    rng = np.random.default_rng([config.seed, index])
    identity = make_identity(source, subject, config.size, rng, flip=bool((index // 2) % 2))
    rows = []
    for c, emotion in enumerate(CLASSES):
        for k in range(config.clips_per_class):
            clip_rng = np.random.default_rng([config.seed, index, c, k])
            clip = render_clip(identity, emotion, config.frames, config.amplitude, clip_rng)
            filename = f"EP{c + 1:02d}_{k + 1:02d}"
            folder = Path(root) / "CASME2_RAW_selected" / subject / filename
            folder.mkdir(parents=True, exist_ok=True)
            # absolute frame numbers, not zero-padded, often crossing a power of ten (img98, img99, img100)
            first = max(1, int(clip_rng.choice([clip_rng.integers(1, 300), 100 - clip_rng.integers(1, config.frames)])))
            for f, frame in enumerate(clip.frames):
                cv2.imwrite(str(folder / f"img{first + f}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, identity.jpeg_quality])
            np.save(folder / "landmarks.npy", clip.landmarks)
            rows.append({"subject": index + 1, "filename": filename, "onset": first + clip.onset,
                         "apex": first + clip.apex, "offset": first + clip.offset,
                         "action_units": action_unit_code(emotion), "emotion": RAW_LABELS[emotion],
                         "amplitude": round(clip.amplitude, 5)})
    return [{"identity": {"subject": subject, "group": identity.group, **identity.traits}}] + rows


def _write_sheet(path: Path, rows: list[dict]) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(SHEET_HEADER)
    for r in rows:
        sheet.append([r["subject"], r["filename"], None, r["onset"], r["apex"], r["offset"], None,
                      r["action_units"], r["emotion"]])
    book.save(path)


def generate(out_dir, subjects: int = 12, clips_per_class: int = 2, frames: int = 12, size: int = 240,
             seed: int = 0, amplitude: float = 0.045, workers: int = 1, overwrite: bool = False,
             progress: bool = True) -> Path:
    """Generate the synthetic set into `out_dir` (written to a temporary folder, then renamed).

    Args:
        out_dir: the folder to create (e.g. "datasets/synthetic").
        subjects, clips_per_class, frames, size, seed, amplitude, workers: see `SynthConfig`.
        overwrite: replace an existing `out_dir`.
        progress: show a tqdm bar on stderr.

    Returns:
        `out_dir` as a Path.

    Raises:
        FileExistsError: `out_dir` exists and overwrite is False.
        ValueError: a setting out of range.
    """
    from tqdm import tqdm

    from mer_tf.datasets.synthetic.source_faces import load_source_faces

    config = SynthConfig(subjects, clips_per_class, frames, size, seed, amplitude, workers).validate()
    from mer_tf.atomic import remove_stale, umask
    from mer_tf.outputs import check_folder, write_marker

    out = Path(out_dir)
    if out.exists() and not (out.is_dir() and not any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (CLI: --overwrite) or choose another folder.")
    check_folder(out, "synthetic", what="synthetic set folder", overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sources = load_source_faces()
    remove_stale(out.parent, out.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~umask())
        tasks = [(str(tmp), config, i, sources[i % len(sources)]) for i in range(config.subjects)]
        bar = tqdm(total=config.subjects, desc="synthetic subjects", unit="subject", disable=not progress)
        results: list[list[dict]] = []
        if config.workers > 1 and config.subjects > 1:
            try:
                # spawn, not fork: a forked child deadlocks in OpenCV's thread pool
                context = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(max_workers=min(config.workers, config.subjects), mp_context=context) as pool:
                    for result in pool.map(_render_subject, tasks):
                        results.append(result)
                        bar.update()
            except BrokenProcessPool:
                # e.g. a script without `if __name__ == "__main__":` cannot spawn workers
                log.warning("worker processes failed to start; rendering in this process instead")
                results = []
                bar.reset()
        if not results:
            for task in tasks:
                results.append(_render_subject(task))
                bar.update()
        bar.close()
        rows = [r for result in results for r in result[1:]]
        _write_sheet(tmp / SHEET_NAME, rows)
        manifest = {
            "generator": "mer_tf.datasets.synthetic",
            "synthetic": True,
            "config": asdict(config),
            "classes": list(CLASSES),
            "sources": {s.name: "public domain photo shipped in an installed package" for s in sources},
            "subjects": {res[0]["identity"]["subject"]: res[0]["identity"] for res in results},
            "clips": len(rows),
            "frames": len(rows) * config.frames,
            "seconds": round(time.perf_counter() - start, 1),
        }
        (tmp / "synthetic.json").write_text(json.dumps(manifest, indent=2))
        write_marker(tmp, "synthetic")
        old = None
        if out.exists():  # moved aside first: the set is the old one or the new one, never half
            old = out.with_name(f".{out.name}.old-{os.getpid()}-x")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("synthetic set: %d clips in %s (%.1f s)", len(rows), out, time.perf_counter() - start)
    return out
