"""Wiring for `mer-edge run`: model + metadata, face backends, ECRL, fusion, source, outputs.

`run_stream` is the one library function the command calls; it returns the
`RunSummary` and never prints (progress goes through the ``on_frame`` hook).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edge.annotate import Annotator
from edge.classifier import LiteRTClassifier
from edge.model_info import ModelInfo
from edge.sources import open_source
from edge.spotting import SpotterParams
from edge.stream import RunSummary, StreamRunner
from edge.timing import StageTimer, TimedDetector, TimedLandmarker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """Settings of a run (the command's flags).

    Args:
        detector: "blazeface-full" (full-range BlazeFace: near and far faces;
            the default, chosen on real group photos by benchmarks/bench_faces.py),
            "blazeface" (short range: faces within ~2 m) or "dlib" (HOG, the paper's).
        tile: frames whose longer side exceeds 1.25 x ``tile`` px are also
            searched in overlapping tiles of that side (4K frames: far faces);
            None or 0: never tile.
        landmarks: "mediapipe" (fast), "mediapipe-attention" (eyes and lips refined) or "dlib".
        threads: LiteRT interpreter threads for the classifier.
        every_frame: classify every face of every frame, not only spotted apexes.
        redetect_every: the tracker re-runs the detector every N frames.
        ecrl: an ecrl.json (calibrated thresholds); default: ecrl.json beside
            the model, else the built-in defaults.
        fps: frame rate for image folders / to override a video's.
        models_dir: the folder of face model files (a bundle's ``models/``);
            default: the installed models folder (``MER_TF_MODELS``).
    """

    detector: str = "blazeface-full"
    landmarks: str = "mediapipe"
    threads: int = 2
    every_frame: bool = False
    redetect_every: int = 10
    ecrl: str | None = None
    fps: float | None = None
    models_dir: str | None = None
    tile: int | None = 1920

    def __post_init__(self):
        # A negative, zero, NaN or infinite rate would give events negative or NaN times.
        if self.fps is not None and not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps)
                                         and self.fps > 0):
            raise ValueError(f"--fps must be a positive number of frames per second, e.g. 30. Received: {self.fps}")


def load_classifier(model: str | Path, threads: int) -> tuple[ModelInfo, LiteRTClassifier]:
    """The model's checked metadata and its classifier; refuses mismatching models."""
    info = ModelInfo.load(model)
    clf = LiteRTClassifier(info.path, num_threads=threads, labels=info.labels, output_kind=info.output_kind)
    info.check_interpreter(clf.input_shape, clf.input_dtype.name)
    return info, clf


def load_ecrl(model: Path, path: str | None):
    from mer_tf.ecrl import ECRL

    if path:
        return ECRL.load(path)
    beside = Path(model).with_name("ecrl.json")
    if beside.is_file():
        log.info("ECRL thresholds from %s", beside)
        return ECRL.load(beside)
    log.info("ECRL: built-in default thresholds (pass --ecrl ecrl.json for calibrated ones)")
    return ECRL.default()


def build_runner(model: str | Path, options: RunOptions, timer: StageTimer | None = None,
                 spotter_params: SpotterParams | None = None) -> tuple[StreamRunner, ModelInfo]:
    """A ready `StreamRunner` for ``model`` (face backends created, metadata checked)."""
    # The model is checked first: a refused model should not wait for face backends to load.
    info, clf = load_classifier(model, options.threads)
    from mer_tf.faces import FaceTracker, create_detector, create_landmarker
    from mer_tf.fusion import FusionPolicy

    detector = create_detector(options.detector, models_dir=options.models_dir, tile=options.tile)
    landmarker = create_landmarker(options.landmarks, models_dir=options.models_dir)
    if timer is not None:  # bench: may be switched on after warm-up
        detector, landmarker = TimedDetector(detector, timer), TimedLandmarker(landmarker, timer)
    tracker = FaceTracker(detector, landmarker, redetect_every=options.redetect_every)
    runner = StreamRunner(tracker, clf, info.labels, info.preprocess, load_ecrl(info.path, options.ecrl),
                          FusionPolicy.paper(), spotter_params=spotter_params,
                          every_frame=options.every_frame, timer=timer, input_mode=info.input_mode,
                          flow_method=info.flow_method)
    trained = info.trained_with()
    family = {"blazeface-full": "blazeface"}  # the same face framing: the landmarks fix the crop
    if all(trained) and (family.get(trained[0], trained[0]), trained[1]) != \
            (family.get(options.detector, options.detector), options.landmarks):
        # Allowed (the fast backends are the device's point), but the crops are fixed by the
        # landmarks, so say it: accuracy measured with the training backends may not carry over.
        runner.summary.notes.append(
            f"{info.path.name} was trained on {trained[0]} + {trained[1]} landmarks; this run uses "
            f"{options.detector} + {options.landmarks}")
    log.info("%s: %s input%s", info.path.name, info.input_mode,
             f" ({info.flow_method} optical flow from each face's last neutral frame)" if info.flow_method else "")
    return runner, info


class _EventSink:
    """JSON lines, flushed per event so that `tail -f` sees them live ("-": stdout).

    A file goes to `<events>.partial` while the run lasts and is renamed to
    `<events>` when it ends: a killed run leaves the previous log intact and
    the new one marked partial by its name (the next run starts it afresh).
    """

    def __init__(self, path: str | None):
        self.fh = None
        self.path = self.partial = None
        if path == "-":
            self.fh = sys.stdout
        elif path:
            self.path = Path(path)
            self.partial = self.path.with_name(self.path.name + ".partial")
            self.fh = self.partial.open("w", encoding="utf-8")
        self.count = 0

    def write(self, record: dict) -> None:
        self.count += 1
        if self.fh:
            self.fh.write(json.dumps(record, sort_keys=False) + "\n")
            self.fh.flush()

    def close(self, complete: bool = True) -> None:
        if not self.fh or self.fh is sys.stdout:
            return
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        if complete:
            os.replace(self.partial, self.path)
        else:
            log.warning("the run did not finish: its events so far are in %s; %s is unchanged",
                        self.partial, self.path)


def run_stream(model: str | Path, source: str | int, options: RunOptions | None = None,
               events: str | None = None, annotate: str | None = None, max_frames: int | None = None,
               on_event: Callable[[dict], None] | None = None,
               on_frame: Callable[[object, list], None] | None = None) -> RunSummary:
    """Run the whole pipeline on ``source``; events to ``events`` (JSONL), video to ``annotate``.

    Raises:
        FileNotFoundError / ModelMetadataError / SourceError / ValueError: before
        the first frame, with a message naming the problem and the fix. Once
        frames flow, problems are counted in the returned summary instead.
    """
    from mer_tf.outputs import check_outputs

    options = options or RunOptions()
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"`max_frames` must be >= 1. Received: max_frames={max_frames}")
    # Every output before anything else: a bad --annotate must not cost the --events file, or a run.
    if annotate:
        Annotator.check_suffix(annotate)
    check_outputs(files={"events file": events, "annotated video": annotate},
                  inputs={"model": model, "source": source, "ECRL file": options.ecrl})
    info, _ = load_classifier(model, options.threads)  # refuse a bad model before anything else
    src = open_source(source, fps=options.fps)  # then a source that cannot be opened
    try:
        runner, _ = build_runner(info.path, options)
    except BaseException:
        src.close()
        raise
    sink = _EventSink(events)
    annotator = Annotator(annotate, fps=src.fps) if annotate else None

    def _event(record: dict) -> None:
        sink.write(record)
        if on_event:
            on_event(record)

    def _frame(frame, views) -> None:
        if annotator:
            annotator.write(frame, views)
        if on_frame:
            on_frame(frame, views)

    try:
        with src:
            summary = runner.run(src, max_frames=max_frames, on_event=_event, on_frame=_frame)
        summary.ended_early = src.stats.ended_early
        summary.notes.extend(src.stats.notes)
        sink.write(summary.to_dict())
    except BaseException:
        if annotator:
            annotator.abort()
        sink.close(complete=False)
        raise
    sink.close()
    if annotator:
        annotator.close()
    return summary
