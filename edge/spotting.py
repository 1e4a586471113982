"""Spotting micro-expressions on one face's landmark stream.

Each tracked face keeps a running neutral baseline: the 68 landmarks of its
still, unexpressive frames, averaged slowly. Every frame is aligned to the
baseline with a similarity transform (so head translation, roll and distance
to the camera do not count as expression) and its deviation from the baseline
is measured in inter-ocular distances. A micro-expression is a deviation that
rises above a noise-adaptive threshold (onset), peaks (apex) and falls back
(offset) within half a second; longer ones are macro-expressions or pose
changes, after which the baseline is learned afresh.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

LEFT_EYE = slice(36, 42)  # iBUG 68 order
RIGHT_EYE = slice(42, 48)


@dataclass(frozen=True)
class SpotterParams:
    """Spotting settings; distances are in inter-ocular distances (IOD).

    Args:
        min_onset: the lowest onset threshold (landmark jitter of a still face
            is ~0.005-0.01 IOD; subtle micro-expressions move a few points by ~0.03).
        noise_k: the threshold is also at least median + noise_k * robust std
            (1.4826 * MAD) of the deviations of the face's own recent neutral frames;
            median and MAD ignore the few rising-edge frames that pass as neutral.
        noise_window: how many recent neutral frames the noise level is taken from.
        release: the expression ends when the deviation falls below
            release * threshold (hysteresis, so jitter at the threshold is one event).
        top_k: the deviation is the mean of the top_k point displacements: a
            micro-expression moves few points (brows or lip corners), and the mean
            over all 68 would drown them.
        still_motion: frame-to-frame motion below which a frame may update the baseline.
        baseline_alpha: weight of a new still frame in the running baseline.
        warmup_frames: still frames needed before spotting starts.
        min_frames: frames above the threshold for an event (a one-frame spike is noise).
        max_duration_s: longer expressions are not micro-expressions (< 0.5 s, Ekman).
        smoothing: weight of the new frame in a running average of the aligned
            landmarks (1 = off). Landmark jitter is frame-to-frame white noise
            while an expression lasts several frames, so 0.5 halves the noise
            variance at the price of about one frame of delay.
    """

    min_onset: float = 0.02
    noise_k: float = 4.0
    noise_window: int = 150
    release: float = 0.8
    top_k: int = 10
    still_motion: float = 0.012
    baseline_alpha: float = 0.05
    warmup_frames: int = 10
    min_frames: int = 2
    max_duration_s: float = 0.5
    smoothing: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.release <= 1:
            raise ValueError(f"`release` must be in (0, 1]. Received: release={self.release}")
        if not 0 < self.baseline_alpha <= 1:
            raise ValueError(f"`baseline_alpha` must be in (0, 1]. Received: baseline_alpha={self.baseline_alpha}")
        if not 0 < self.smoothing <= 1:
            raise ValueError(f"`smoothing` must be in (0, 1]. Received: smoothing={self.smoothing}")
        if not 1 <= self.top_k <= 68:
            raise ValueError(f"`top_k` must be in 1..68. Received: top_k={self.top_k}")


@dataclass(frozen=True)
class Spot:
    """A spotted expression: onset, apex and offset frames plus what the classifiers need.

    ``apex_landmarks`` are in the apex image's pixels (for cropping the face);
    ``apex_aligned`` and ``neutral`` are in the baseline's frame (for ECRL).
    """

    onset_index: int
    onset_time: float
    apex_index: int
    apex_time: float
    offset_index: int
    offset_time: float
    magnitude: float
    threshold: float
    complete: bool
    apex_image: np.ndarray | None
    apex_landmarks: np.ndarray
    apex_aligned: np.ndarray
    neutral: np.ndarray


def align_to(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``points`` mapped onto ``reference`` by the least-squares similarity transform."""
    p = points[:, 0] + 1j * points[:, 1]
    q = reference[:, 0] + 1j * reference[:, 1]
    pc, qc = p - p.mean(), q - q.mean()
    denom = np.vdot(pc, pc).real
    a = np.vdot(pc, qc) / denom if denom > 0 else 1.0  # scale * e^(i rotation)
    out = a * pc + q.mean()
    return np.stack([out.real, out.imag], axis=1).astype(np.float32)


def interocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres (the unit of every spotting threshold)."""
    return float(np.linalg.norm(landmarks[LEFT_EYE].mean(0) - landmarks[RIGHT_EYE].mean(0)))


class Spotter:
    """Running neutral baseline and onset/apex/offset spotting for one face.

    Args:
        params: `SpotterParams`.

    Example:
        >>> spotter = Spotter()
        >>> for frame, landmarks in stream:
        ...     spot = spotter.update(frame.index, frame.time, landmarks, frame.image)
        ...     if spot: print(spot.onset_index, spot.apex_index, spot.offset_index)
    """

    def __init__(self, params: SpotterParams | None = None):
        self.params = params or SpotterParams()
        self.reset()

    def reset(self) -> None:
        """Forget the baseline (after a long expression or a pose change)."""
        self.neutral: np.ndarray | None = None
        self.version = 0  # bumped whenever the baseline changes (callers cache what they derive from it)
        self._still = 0
        self._prev: np.ndarray | None = None
        self._noise: deque[float] = deque(maxlen=self.params.noise_window)
        self._threshold = self.params.min_onset
        self._warm: list[np.ndarray] = []  # the still frames of the warm-up
        self._active: dict | None = None
        self.deviation = 0.0
        self.raw_deviation = 0.0
        self.aligned: np.ndarray | None = None

    @property
    def ready(self) -> bool:
        """True once the baseline has seen enough still frames to spot."""
        return self.neutral is not None and self._still >= self.params.warmup_frames

    @property
    def active(self) -> bool:
        """True while an expression is in progress (from its onset until it is emitted)."""
        return self._active is not None

    @property
    def threshold(self) -> float:
        """The onset threshold in IODs (recomputed when the noise sample changes)."""
        return self._threshold

    def _update_threshold(self) -> None:
        d = np.fromiter(self._noise, np.float64)
        med = float(np.median(d))
        robust_std = 1.4826 * float(np.median(np.abs(d - med)))
        self._threshold = max(self.params.min_onset, med + self.params.noise_k * robust_std)

    def _deviation(self, aligned: np.ndarray, iod: float) -> float:
        d = np.linalg.norm(aligned - self.neutral, axis=1)
        k = self.params.top_k
        return float(np.partition(d, len(d) - k)[-k:].mean() / iod)

    def update(self, index: int, time: float, landmarks: np.ndarray,
               image: np.ndarray | None = None) -> Spot | None:
        """Feed one frame's landmarks (68, 2); returns a `Spot` when an expression has ended."""
        p = self.params
        pts = np.asarray(landmarks, np.float32)
        if self.neutral is None:
            self.neutral = pts.copy()  # a provisional frame to align to until warm-up averages
            self._prev, self.aligned = pts, pts
            return None
        aligned = align_to(pts, self.neutral)
        iod = max(interocular(self.neutral), 1e-6)
        # This frame alone, unsmoothed: a frame earlier than the smoothed deviation at the start
        # of a rise (callers use it to pick a truly neutral frame; spotting uses the smoothed one).
        self.raw_deviation = self._deviation(aligned, iod)
        if self.aligned is not None and p.smoothing < 1:
            aligned = (p.smoothing * aligned + (1 - p.smoothing) * self.aligned).astype(np.float32)
        motion = float(np.linalg.norm(aligned - self._prev, axis=1).mean() / iod)
        self._prev, self.aligned = aligned, aligned
        dev = self.deviation = self._deviation(aligned, iod)
        if self._active is None:
            if self.ready and dev > self.threshold:
                self._active = {"onset": (index, time), "apex": (index, time, dev, image, pts, aligned),
                                "above": 1, "threshold": self.threshold}
            elif motion < p.still_motion and (dev < self.threshold or not self.ready):
                # During warm-up the baseline is a few frames old and any deviation from it
                # is mostly its own noise: learn from every still frame, or it never settles.
                self._learn(aligned, dev)
            return None
        act = self._active
        if dev > act["apex"][2]:
            act["apex"] = (index, time, dev, image, pts, aligned)
        if dev > act["threshold"] * p.release:
            act["above"] += 1
            if time - act["onset"][1] > p.max_duration_s:
                log.debug("expression from frame %d longer than %.2f s: re-learning the baseline",
                          act["onset"][0], p.max_duration_s)
                self.reset()
            return None
        self._active = None
        if act["above"] < p.min_frames:
            return None
        return self._spot(act, index, time, complete=True)

    def flush(self, index: int, time: float) -> Spot | None:
        """End of stream or face lost: the expression in progress, marked incomplete."""
        act, self._active = self._active, None
        if act is None or act["above"] < self.params.min_frames:
            return None
        return self._spot(act, index, time, complete=False)

    def _learn(self, aligned: np.ndarray, dev: float) -> None:
        self.version += 1
        self._still += 1
        if self._still <= self.params.warmup_frames:
            # Warm-up: the baseline is the plain mean of the still frames so far. The
            # noise level is measured only at the end, against the settled baseline:
            # deviations from a one-frame baseline would overstate it for a long time.
            self._warm.append(aligned)
            self.neutral = np.mean(self._warm, axis=0).astype(np.float32)
            if self._still == self.params.warmup_frames:
                iod = max(interocular(self.neutral), 1e-6)
                # the frames are part of the mean they are compared with: correct the shrinkage
                k = np.sqrt(len(self._warm) / max(len(self._warm) - 1, 1))
                self._noise.extend(k * self._deviation(w, iod) for w in self._warm)
                self._update_threshold()
                self._warm = []
            return
        # Afterwards an exponential moving average lets the baseline follow slow
        # changes (lighting, fatigue, posture) without absorbing expressions.
        w = self.params.baseline_alpha
        self.neutral = ((1 - w) * self.neutral + w * aligned).astype(np.float32)
        self._noise.append(dev)
        if self._still % 5 == 0:  # the noise level changes slowly; a median every 5 frames is plenty
            self._update_threshold()

    def _spot(self, act: dict, index: int, time: float, complete: bool) -> Spot:
        a_index, a_time, mag, image, pts, aligned = act["apex"]
        return Spot(onset_index=act["onset"][0], onset_time=act["onset"][1], apex_index=a_index,
                    apex_time=a_time, offset_index=index, offset_time=time, magnitude=mag,
                    threshold=act["threshold"], complete=complete, apex_image=image,
                    apex_landmarks=pts, apex_aligned=aligned, neutral=self.neutral.copy())
