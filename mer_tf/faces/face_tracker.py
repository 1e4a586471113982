"""Follow faces through a stream: detect once, then track from the landmarks."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from mer_tf.faces.box import Box

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame.

    Args:
        id: stable across frames while the face is followed (0, 1, 2, ...).
        box: the face box in this frame (detector framing).
        landmarks: (68, 2) float32, iBUG 68 order.
        detected: True when the box came from the detector in this frame,
            False when it was carried over from the previous landmarks.
    """

    id: int
    box: Box
    landmarks: np.ndarray
    detected: bool


@dataclass
class _Track:
    id: int
    box: Box
    landmarks: np.ndarray
    frame: np.ndarray  # (4,) detector box edges relative to the landmark box, in its sizes
    patch: np.ndarray | None = None  # the eye-aligned face, 32x32, zero mean, unit norm


def _patch(gray: np.ndarray, pts: np.ndarray) -> np.ndarray | None:
    """The face as an eye-aligned 32x32 patch, zero mean, unit norm (None if flat)."""
    import cv2

    from mer_tf.preprocess import FacePreprocessParams, alignment_matrix

    m = alignment_matrix(pts, FacePreprocessParams(size=32))
    p = cv2.warpAffine(gray, m, (32, 32), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    p = p.astype(np.float32).ravel()
    p -= p.mean()
    n = float(np.linalg.norm(p))
    return p / n if n > 1e-3 else None




def _frame_of(box: Box, lm_box: Box) -> np.ndarray:
    w, h = max(lm_box.width, 1e-6), max(lm_box.height, 1e-6)
    return np.array([(box.x0 - lm_box.x0) / w, (box.y0 - lm_box.y0) / h,
                     (box.x1 - lm_box.x1) / w, (box.y1 - lm_box.y1) / h])


def _box_from(lm_box: Box, frame: np.ndarray, score: float) -> Box:
    w, h = lm_box.width, lm_box.height
    f = frame.tolist()
    return Box(lm_box.x0 + f[0] * w, lm_box.y0 + f[1] * h, lm_box.x1 + f[2] * w, lm_box.y1 + f[3] * h, float(score))


class FaceTracker:
    """Detect, then follow each face from its own landmarks; re-detect on loss.

    Between detections a face's next box is its last landmarks' box, reframed
    the way the detector framed that face when it was found (so the landmarker
    keeps seeing the framing it was trained on). A track is lost when the
    landmarker fails, its landmarks leave the frame, or the landmark box jumps
    (IoU with the previous one below ``min_iou``) or changes size by more than
    ``max_scale_change``; any loss triggers a detection on the next frame.
    Detections are matched to tracks by IoU, so ids stay stable; unmatched
    detections start new ids; tracks the detector no longer finds end.

    Args:
        detector: a ``FaceDetector``.
        landmarker: a ``Landmarker``.
        redetect_every: run the detector every N frames even when nothing
            was lost (new faces appear, drift is corrected). 1 = every frame.
        max_faces: at most this many faces, the largest first.
        min_iou: IoU between consecutive landmark boxes below which a track
            counts as lost; also the IoU needed to match a detection.
        max_scale_change: relative size change per frame that counts as lost.
        min_appearance: correlation between the eye-aligned face patch of
            this frame and the last one below which a track counts as lost.
            A regression landmarker (dlib) always returns 68 points inside
            its box, face or no face; this check is what notices that the
            face has left the box.

    Example:
        >>> tracker = FaceTracker(create_detector("blazeface"), create_landmarker("mediapipe"), redetect_every=10)
        >>> for frame in frames:
        ...     for face in tracker.update(frame):
        ...         print(face.id, face.box)
    """

    def __init__(self, detector, landmarker, redetect_every: int = 10, max_faces: int = 4,
                 min_iou: float = 0.3, max_scale_change: float = 0.35, min_appearance: float = 0.6):
        if int(redetect_every) < 1:
            raise ValueError(f"`redetect_every` must be >= 1. Received: redetect_every={redetect_every}")
        if int(max_faces) < 1:
            raise ValueError(f"`max_faces` must be >= 1. Received: max_faces={max_faces}")
        self.detector = detector
        self.landmarker = landmarker
        self.redetect_every = int(redetect_every)
        self.max_faces = int(max_faces)
        self.min_iou = float(min_iou)
        self.max_scale_change = float(max_scale_change)
        self.min_appearance = float(min_appearance)
        self.reset()

    def reset(self) -> None:
        """Forget every track (ids restart from 0)."""
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._since_detect = 0
        self._lost = True
        self.detections = 0  # how many times the detector ran (for tests and benchmarks)

    def update(self, frame: np.ndarray) -> list[TrackedFace]:
        """The faces in this frame, with stable ids."""
        from mer_tf.faces.image import check_image, to_gray  # here: `import mer_tf.faces` needs no OpenCV

        frame = check_image(frame, "frame")
        gray = to_gray(frame)
        detect = self._lost or not self._tracks or self._since_detect >= self.redetect_every
        before = [replace(t) for t in self._tracks]
        out, lost = self._step(frame, gray, detect)
        if lost and not detect:
            # a face was lost while following: detect now (matching against the tracks as they
            # were before this frame) rather than drop the face for a frame
            self._tracks = before
            out, lost = self._step(frame, gray, True)
        self._lost = lost or not self._tracks
        self._since_detect = 1 if detect or lost else self._since_detect + 1
        return out

    def _step(self, frame: np.ndarray, gray: np.ndarray, detect: bool) -> tuple[list[TrackedFace], bool]:
        """Landmarks for every track (after a detection if ``detect``); drops lost tracks."""
        h, w = frame.shape[:2]
        if detect:
            self._detect(frame)
        out, kept, lost = [], [], False
        for track in self._tracks:
            try:
                pts = np.asarray(self.landmarker.landmarks(frame, track.box), dtype=np.float32)
            except ValueError as err:
                log.debug("track %d lost: %s", track.id, err)
                lost = True
                continue
            presence = getattr(self.landmarker, "last_score", None)  # MediaPipe says whether a face is there
            if presence is not None and presence < 0.5:
                log.debug("track %d lost: face presence %.2f", track.id, presence)
                lost = True
                continue
            lm_box = Box.from_points(pts, track.box.score)
            if not (np.isfinite(pts).all() and lm_box.clipped(w, h).area >= 0.75 * lm_box.area > 0):
                log.debug("track %d lost: landmarks left the frame", track.id)
                lost = True
                continue
            try:
                patch = _patch(gray, pts)
            except ValueError:  # collapsed landmarks
                patch = None
            if patch is None:  # collapsed landmarks, or a flat patch: no face there
                log.debug("track %d lost: no face under the landmarks", track.id)
                lost = True
                continue
            if track.landmarks is not None and not self._continues(track, lm_box, patch):
                if not detect:  # following from the last landmarks went wrong: lost
                    log.debug("track %d lost: the landmarks jumped or the face changed", track.id)
                    lost = True
                    continue
                # the detector matched this box to the track, but it is not the same face: a new id
                track.id, self._next_id = self._next_id, self._next_id + 1
            track.patch = patch
            if detect:  # remember how the detector frames this face, relative to its landmarks
                track.frame = _frame_of(track.box, lm_box)
            follow = _box_from(lm_box, track.frame, track.box.score)  # this frame's box, and the next frame's search box
            out.append(TrackedFace(track.id, track.box if detect else follow, pts, detect))
            track.landmarks = pts
            track.box = follow
            kept.append(track)
        self._tracks = kept
        return out, lost

    def _continues(self, track: _Track, lm_box: Box, patch: np.ndarray) -> bool:
        """Whether this frame's landmarks continue the track: no jump, same size, same look."""
        prev = Box.from_points(track.landmarks)
        size_change = abs(np.sqrt(lm_box.area / max(prev.area, 1e-6)) - 1.0)
        return (lm_box.iou(prev) >= self.min_iou and size_change <= self.max_scale_change
                and (track.patch is None or float(patch @ track.patch) >= self.min_appearance))

    def _detect(self, frame: np.ndarray) -> None:
        self.detections += 1
        boxes = sorted(self.detector.detect(frame), key=lambda b: -b.area)[: self.max_faces]
        old = {t.id: t for t in self._tracks}
        pairs = sorted(
            ((b.iou(t.box), i, t.id) for i, b in enumerate(boxes) for t in self._tracks),
            reverse=True,
        )
        used_boxes, used_ids, tracks = set(), set(), []
        for iou, i, tid in pairs:  # greedy: the best-overlapping pairs first
            if iou < self.min_iou or i in used_boxes or tid in used_ids:
                continue
            used_boxes.add(i)
            used_ids.add(tid)
            t = old[tid]
            tracks.append(_Track(tid, boxes[i], t.landmarks, t.frame, t.patch))
        for i, b in enumerate(boxes):
            if i not in used_boxes:
                tracks.append(_Track(self._next_id, b, None, np.zeros(4)))
                self._next_id += 1
        self._tracks = sorted(tracks, key=lambda t: t.id)
