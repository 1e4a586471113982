"""StreamRunner: the frame loop of `mer-edge run`.

frames -> detect and track faces -> landmarks -> per-face neutral baseline and
spotting -> on each spotted micro-expression: the CNN on the apex face, ECRL on
the apex landmarks against the baseline, fusion -> one event (a dict, written
as a JSON line). With ``every_frame`` the CNN, ECRL and fusion also run on
every face of every frame (live labels, and what `bench` times).

Nothing in a frame stops the loop: corrupt frames, frames without faces, faces
that come and go, and errors inside a frame's processing are counted in the
`RunSummary`; the loop itself never raises for bad input.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from edge.sources import Frame
from edge.spotting import Spot, Spotter, SpotterParams
from edge.timing import StageTimer

log = logging.getLogger(__name__)


@dataclass
class FaceView:
    """What one face looks like in this frame (for annotation and live labels)."""

    face_id: int
    box: Any
    landmarks: np.ndarray
    deviation: float
    threshold: float
    ready: bool
    active: bool
    label: str | None = None
    label_source: str | None = None


@dataclass
class RunSummary:
    """Counts over a run; printed as the exit message and written as the last JSON line."""

    frames: int = 0
    frames_with_faces: int = 0
    frames_without_faces: int = 0
    corrupt_frames: int = 0
    frame_errors: int = 0
    first_frame_error: str | None = None
    max_faces_in_frame: int = 0
    faces_seen: int = 0
    faces_lost: int = 0
    events: int = 0
    incomplete_events: int = 0
    ended_early: bool = False
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"type": "summary", **asdict(self), "fps": round(self.fps, 2)}


class StreamRunner:
    """Runs tracking, spotting and classification over a stream of frames.

    Args:
        tracker: a `mer_tf.faces.FaceTracker` (``update(frame) -> [TrackedFace]``).
        classifier: a callable face batch (N, S, S, 3) -> log-probabilities (N, 7),
            e.g. `edge.classifier.LiteRTClassifier`.
        labels: the classifier's class names (from the model metadata).
        preprocess: `mer_tf.preprocess.FacePreprocessParams` (from the metadata).
        ecrl: a `mer_tf.ecrl.ECRL`.
        policy: a `mer_tf.fusion.FusionPolicy`.
        spotter_params: `SpotterParams` for every face.
        every_frame: also classify every face of every frame.
        timer: a `StageTimer` (bench) or None.
    """

    def __init__(self, tracker, classifier: Callable[[np.ndarray], np.ndarray], labels: tuple[str, ...],
                 preprocess, ecrl, policy, spotter_params: SpotterParams | None = None,
                 every_frame: bool = False, timer: StageTimer | None = None):
        self.tracker, self.classifier, self.labels = tracker, classifier, tuple(labels)
        self.preprocess, self.ecrl, self.policy = preprocess, ecrl, policy
        self.spotter_params = spotter_params or SpotterParams()
        self.every_frame = every_frame
        self.timer = timer or StageTimer(enabled=False)
        self.summary = RunSummary()
        self._spotters: dict[int, Spotter] = {}
        self._last_label: dict[int, tuple[str, str, float]] = {}  # face id -> (label, source, time)
        self._refs: dict[int, tuple[int, Any]] = {}  # face id -> (baseline version, prepared neutral)

    # -- one face --------------------------------------------------------------
    def classify(self, image: np.ndarray, landmarks: np.ndarray, aligned: np.ndarray | None,
                 neutral: np.ndarray | None) -> dict[str, Any]:
        """CNN + ECRL + fusion for one face; the labels, scores and the rule that fired."""
        from mer_tf.preprocess import preprocess_face

        with self.timer.stage("preprocess"):
            face = preprocess_face(image, landmarks, self.preprocess)
        with self.timer.stage("cnn"):
            log_probs = self.classifier(face[None])[0]
        probs = np.exp(log_probs)
        best = int(np.argmax(probs))
        cnn = {"label": self.labels[best], "score": round(float(probs[best]), 4),
               "scores": {name: round(float(p), 4) for name, p in zip(self.labels, probs)}}
        ecrl: dict[str, Any] = {"label": None, "rule": None, "features": {}}
        if neutral is not None and aligned is not None:
            with self.timer.stage("ecrl"):
                verdict = self.ecrl.predict(aligned, neutral)
            ecrl = {"label": verdict.label, "rule": verdict.rule,
                    "features": {k: round(float(v), 5) for k, v in verdict.features.items()}}
        with self.timer.stage("fusion"):
            fused_label, reason = self.policy.fuse(cnn["label"], ecrl["label"])
        fused = {"label": fused_label, "reason": reason,
                 "source": "cnn" if fused_label == cnn["label"] else "ecrl",
                 "cnn_score": cnn["scores"].get(fused_label)}
        return {"cnn": cnn, "ecrl": ecrl, "fused": fused}

    def _event(self, face_id: int, spot: Spot) -> dict[str, Any]:
        result = self.classify(spot.apex_image, spot.apex_landmarks, spot.apex_aligned, spot.neutral)
        return {
            "type": "micro_expression", "face_id": face_id, "time": round(spot.apex_time, 4),
            "onset": {"frame": spot.onset_index, "time": round(spot.onset_time, 4)},
            "apex": {"frame": spot.apex_index, "time": round(spot.apex_time, 4)},
            "offset": {"frame": spot.offset_index, "time": round(spot.offset_time, 4)},
            "duration_s": round(spot.offset_time - spot.onset_time, 4),
            "magnitude": round(spot.magnitude, 4), "threshold": round(spot.threshold, 4),
            "complete": spot.complete, **result,
            # wall-clock time of the event (stream times above are relative to its start)
            "emitted_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        }

    def _emit(self, face_id: int, spot: Spot | None, events: list[dict]) -> None:
        if spot is None:
            return
        if spot.apex_image is None:
            log.debug("face %d: spot without an apex image skipped", face_id)
            return
        event = self._event(face_id, spot)
        self.summary.events += 1
        self.summary.incomplete_events += 0 if spot.complete else 1
        self._last_label[face_id] = (event["fused"]["label"], "event", spot.offset_time)
        events.append(event)

    def _reference(self, fid: int, sp: Spotter):
        """The face's neutral for ECRL, prepared once per few baseline updates (not every frame)."""
        if not sp.ready:
            return None
        cached = self._refs.get(fid)
        # The baseline is an EMA that moves slowly; re-preparing it every 10 updates
        # keeps ECRL's per-face cost at the feature extraction alone.
        if cached is None or not 0 <= sp.version - cached[0] < 10:  # < 0: the baseline was reset
            prepare = getattr(self.ecrl, "reference", None)
            ref = prepare(sp.neutral) if prepare else sp.neutral
            cached = self._refs[fid] = (sp.version, ref)
        return cached[1]

    # -- one frame -------------------------------------------------------------
    def process(self, frame: Frame) -> tuple[list[dict], list[FaceView]]:
        """Process one frame; returns the events that ended on it and the faces seen."""
        s = self.summary
        s.frames += 1
        if frame.image is None:
            s.corrupt_frames += 1
            return [], []
        events: list[dict] = []
        views: list[FaceView] = []
        self.timer.begin_frame()
        try:
            t0 = time.perf_counter_ns()
            faces = self.tracker.update(frame.image)
            tracked = time.perf_counter_ns() - t0
            # The tracker calls the (timed) detector and landmarker inside; the rest is tracking.
            inner = self.timer._current.get("detect", 0) + self.timer._current.get("landmarks", 0)
            self.timer.add("track", max(0, tracked - inner))
            seen = set()
            for face in faces:
                fid = int(face.id)
                seen.add(fid)
                if fid not in self._spotters:
                    self._spotters[fid] = Spotter(self.spotter_params)
                    s.faces_seen += 1
                sp = self._spotters[fid]
                landmarks = np.asarray(face.landmarks, np.float32)
                with self.timer.stage("spotting"):
                    spot = sp.update(frame.index, frame.time, landmarks, frame.image)
                self._emit(fid, spot, events)
                view = FaceView(fid, face.box, landmarks, sp.deviation, sp.threshold, sp.ready,
                                sp._active is not None)
                if self.every_frame:
                    live = self.classify(frame.image, landmarks, sp.aligned, self._reference(fid, sp))
                    view.label, view.label_source = live["fused"]["label"], "live"
                elif fid in self._last_label and frame.time - self._last_label[fid][2] < 1.0:
                    view.label, view.label_source = self._last_label[fid][:2]
                views.append(view)
            for fid in [f for f in self._spotters if f not in seen]:
                self._emit(fid, self._spotters.pop(fid).flush(frame.index, frame.time), events)
                self._last_label.pop(fid, None)
                self._refs.pop(fid, None)
                s.faces_lost += 1
            s.max_faces_in_frame = max(s.max_faces_in_frame, len(faces))
            if faces:
                s.frames_with_faces += 1
            else:
                s.frames_without_faces += 1
        except Exception as err:  # one bad frame must not end a live stream
            s.frame_errors += 1
            if s.first_frame_error is None:
                s.first_frame_error = f"frame {frame.index}: {type(err).__name__}: {err}"
                log.warning("error on %s (further errors are counted)", s.first_frame_error, exc_info=True)
        finally:
            self.timer.end_frame()
        return events, views

    def finish(self, index: int, time_s: float) -> list[dict]:
        """End of stream: expressions still in progress become incomplete events."""
        events: list[dict] = []
        for fid in list(self._spotters):
            self._emit(fid, self._spotters.pop(fid).flush(index, time_s), events)
        return events

    def run(self, frames: Iterable[Frame], max_frames: int | None = None,
            on_event: Callable[[dict], None] | None = None,
            on_frame: Callable[[Frame, list[FaceView]], None] | None = None) -> RunSummary:
        """Process ``frames`` (at most ``max_frames``); events go to ``on_event`` as they happen."""
        start = time.perf_counter()
        last = None
        try:
            for frame in frames:
                if max_frames is not None and self.summary.frames >= max_frames:
                    break
                events, views = self.process(frame)
                for event in events:
                    if on_event:
                        on_event(event)
                if on_frame:
                    on_frame(frame, views)
                last = frame
        except KeyboardInterrupt:  # Ctrl+C on a camera: finish the files and report
            self.summary.notes.append(f"interrupted by the user after {self.summary.frames} frames")
        if last is not None:
            for event in self.finish(last.index, last.time):
                if on_event:
                    on_event(event)
        self.summary.elapsed_s = time.perf_counter() - start
        return self.summary
