"""StreamRunner: the frame loop of `mer-edge run`.

frames -> detect and track faces -> landmarks -> per-face neutral baseline and
spotting -> on each spotted micro-expression: the CNN on the model's input, ECRL
on the apex landmarks against the baseline, fusion -> one event (a dict,
written as a JSON line). With ``every_frame`` the CNN, ECRL and fusion also run
on every face of every frame (live labels, and what `bench` times).

The CNN's input is what the model was trained on (its metadata's
``input_mode``): "apex", the preprocessed apex face (`preprocess_face`), or
"flow", `mer_tf.flow.flow_input` from the face's last neutral frame (see
`NeutralReference`) to the apex frame, both cropped with the neutral frame's
transform exactly as `mer_tf.data.FeatureStore` does in training. In
``every_frame`` mode a flow model sees the flow from that neutral frame to the
current one.

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

from edge.neutral_reference import NeutralReference
from edge.sources import Frame
from edge.spotting import Spot, Spotter, SpotterParams
from edge.timing import StageTimer

log = logging.getLogger(__name__)

# A frame may be a flow model's onset (neutral reference) when its own (unsmoothed) deviation
# from the baseline is at most this fraction of the onset threshold (StreamRunner._track_neutral).
QUIET = 0.5
MAX_AGE_S = 1.0


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
    live: dict | None = None  # this frame's CNN + ECRL + fusion result (every-frame mode), for traces
    log_probs: np.ndarray | None = None  # and the CNN's unrounded log-probabilities


@dataclass
class RunSummary:
    """Counts over a run; printed as the exit message and written as the last JSON line."""

    frames: int = 0
    frames_with_faces: int = 0
    frames_without_faces: int = 0
    corrupt_frames: int = 0
    first_corrupt: list[str] = field(default_factory=list)  # the first few, named (file or index: why)
    frame_errors: int = 0
    first_frame_error: str | None = None
    max_faces_in_frame: int = 0
    faces_seen: int = 0
    faces_lost: int = 0
    events: int = 0
    incomplete_events: int = 0
    ended_early: bool = False
    interrupted: bool = False  # Ctrl+C (the files are finished; the command exits 130)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    input_mode: str = "apex"  # what the CNN was fed: "apex" faces or "flow" (onset -> apex)

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
        input_mode: "apex" or "flow" (`ModelInfo.input_mode`).
        flow_method: the flow method of a flow model (`ModelInfo.flow_method`).
    """

    def __init__(self, tracker, classifier: Callable[[np.ndarray], np.ndarray], labels: tuple[str, ...],
                 preprocess, ecrl, policy, spotter_params: SpotterParams | None = None,
                 every_frame: bool = False, timer: StageTimer | None = None, input_mode: str = "apex",
                 flow_method: str | None = None):
        if input_mode not in ("apex", "flow"):
            raise ValueError(f"`input_mode` must be 'apex' or 'flow'. Received: input_mode={input_mode!r}")
        if input_mode == "flow":
            from mer_tf.flow import FLOW_METHODS

            if flow_method not in FLOW_METHODS:
                raise ValueError(f"A flow model needs `flow_method` in {FLOW_METHODS}. Received: {flow_method!r}")
        self.input_mode, self.flow_method = input_mode, flow_method
        self.tracker, self.classifier, self.labels = tracker, classifier, tuple(labels)
        self.preprocess, self.ecrl, self.policy = preprocess, ecrl, policy
        self.spotter_params = spotter_params or SpotterParams()
        self.every_frame = every_frame
        self.timer = timer or StageTimer(enabled=False)
        self.summary = RunSummary(input_mode=input_mode)
        self._spotters: dict[int, Spotter] = {}
        self._last_label: dict[int, tuple[str, str, float]] = {}  # face id -> (label, source, time)
        self._refs: dict[int, tuple[int, Any]] = {}  # face id -> (baseline version, prepared neutral)
        self._neutral: dict[int, NeutralReference] = {}  # face id -> its last neutral frame (flow mode)

    # -- one face --------------------------------------------------------------
    def network_input(self, image: np.ndarray, landmarks: np.ndarray,
                      reference: NeutralReference | None = None, timer: StageTimer | None = None):
        """The CNN input (S, S, 3) float32 for a face, built as in training; None when a flow
        model has no neutral frame for the face yet.

        Args:
            image: the frame (the apex frame of an event).
            landmarks: the face's landmarks in ``image`` (apex mode only).
            reference: the face's `NeutralReference` (flow mode only).
            timer: times "preprocess" (cropping) and "flow"; default: not timed.
        """
        timer = timer or StageTimer(enabled=False)
        if self.input_mode == "apex":
            from mer_tf.preprocess import preprocess_face

            with timer.stage("preprocess"):
                return preprocess_face(image, landmarks, self.preprocess)
        if reference is None:
            return None
        from mer_tf.flow import flow_input

        with timer.stage("preprocess"):
            onset = reference.crop(self.preprocess)
            apex = reference.align(image, self.preprocess)
        with timer.stage("flow"):
            return flow_input(onset, apex, self.flow_method)

    def _input_record(self, reference: NeutralReference | None) -> dict[str, Any]:
        if self.input_mode == "apex":
            return {"mode": "apex"}
        return {"mode": "flow", "method": self.flow_method,
                "reference_frame": reference.frame_index if reference is not None else None}

    def classify(self, image: np.ndarray, landmarks: np.ndarray, aligned: np.ndarray | None,
                 neutral: np.ndarray | None, reference: NeutralReference | None = None) -> dict[str, Any] | None:
        """CNN + ECRL + fusion for one face; the labels, scores and the rule that fired.

        None when a flow model has no neutral ``reference`` for the face yet.
        """
        return self._classify(image, landmarks, aligned, neutral, reference)[0]

    def _classify(self, image, landmarks, aligned, neutral, reference) -> tuple[dict[str, Any] | None, Any]:
        # (the result, the CNN's unrounded log-probabilities): traces compare scores to the int8 step
        face = self.network_input(image, landmarks, reference, self.timer)
        if face is None:
            return None, None
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
        return {"input": self._input_record(reference), "cnn": cnn, "ecrl": ecrl, "fused": fused}, log_probs

    def _event(self, face_id: int, spot: Spot) -> dict[str, Any] | None:
        result = self.classify(spot.apex_image, spot.apex_landmarks, spot.apex_aligned, spot.neutral,
                               self._neutral.get(face_id))
        if result is None:
            return None
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
        if event is None:  # cannot happen after warm-up (the spotter learned neutral frames); never guess
            log.warning("face %d: spot at frame %d skipped: no neutral frame for the flow input",
                        face_id, spot.apex_index)
            return
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

    def _track_neutral(self, fid: int, sp: Spotter, version_before: int, frame: Frame,
                       landmarks: np.ndarray) -> None:
        """Flow mode: keep the face's last neutral frame; crop it once an expression starts."""
        if sp.version < version_before:  # the baseline was reset: its neutral frame is stale
            self._neutral.pop(fid, None)
        elif sp.version > version_before:
            # A still frame the spotter learned from. The first frames of a slow rise are still
            # and below the threshold too: only a quiet one (far below the threshold, judged on
            # this frame's own deviation: the smoothed one lags a frame) may be the onset, or the
            # flow would miss the start of the motion that training saw. A reference older than
            # MAX_AGE_S is replaced anyway: head drift since then would show up as flow.
            old = self._neutral.get(fid)
            if (old is None or sp.raw_deviation <= QUIET * sp.threshold
                    or frame.time - old.time > MAX_AGE_S):
                self._neutral[fid] = NeutralReference(frame.index, frame.image, landmarks, frame.time)
        ref = self._neutral.get(fid)
        if ref is not None and sp.active and ref.holds_frame:
            # The onset is fixed now: crop it and let the frame go (memory stays one crop per face).
            with self.timer.stage("preprocess"):
                ref.crop(self.preprocess)

    # -- one frame -------------------------------------------------------------
    def process(self, frame: Frame) -> tuple[list[dict], list[FaceView]]:
        """Process one frame; returns the events that ended on it and the faces seen."""
        s = self.summary
        s.frames += 1
        if frame.image is None:
            s.corrupt_frames += 1
            if len(s.first_corrupt) < 5:
                s.first_corrupt.append(f"{frame.name or f'frame {frame.index}'}: {frame.error or 'unreadable'}")
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
                version = sp.version
                with self.timer.stage("spotting"):
                    spot = sp.update(frame.index, frame.time, landmarks, frame.image)
                if self.input_mode == "flow":
                    self._track_neutral(fid, sp, version, frame, landmarks)
                self._emit(fid, spot, events)
                view = FaceView(fid, face.box, landmarks, sp.deviation, sp.threshold, sp.ready, sp.active)
                live = None
                if self.every_frame:
                    live, view.log_probs = self._classify(frame.image, landmarks, sp.aligned,
                                                          self._reference(fid, sp), self._neutral.get(fid))
                if live is not None:
                    view.label, view.label_source, view.live = live["fused"]["label"], "live", live
                elif fid in self._last_label and frame.time - self._last_label[fid][2] < 1.0:
                    view.label, view.label_source = self._last_label[fid][:2]
                views.append(view)
            for fid in [f for f in self._spotters if f not in seen]:
                self._emit(fid, self._spotters.pop(fid).flush(frame.index, frame.time), events)
                self._last_label.pop(fid, None)
                self._refs.pop(fid, None)
                self._neutral.pop(fid, None)
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
            self._neutral.pop(fid, None)
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
            self.summary.interrupted = True
            self.summary.notes.append(f"interrupted by the user after {self.summary.frames} frames")
        if last is not None:
            for event in self.finish(last.index, last.time):
                if on_event:
                    on_event(event)
        self.summary.elapsed_s = time.perf_counter() - start
        return self.summary
