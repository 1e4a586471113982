"""StageTimer: per-stage latency samples for `mer-edge bench` (and nothing when disabled).

Stages are timed per call (a CNN call is one face) and summed per frame (a
frame with two faces runs the landmarker twice). Samples are kept in bounded
deques so that a long run with timing on still uses constant memory.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from contextlib import contextmanager
from typing import Iterator

import numpy as np


class StageTimer:
    """Collects per-call and per-frame nanoseconds for named stages.

    Args:
        enabled: False makes every method a cheap no-op (the `run` command).
        max_samples: samples kept per stage (oldest dropped first).
    """

    def __init__(self, enabled: bool = True, max_samples: int = 100_000):
        self.enabled = enabled
        self.max_samples = max_samples
        self.calls: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=max_samples))
        self.frames: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=max_samples))
        self._current: dict[str, int] = {}
        self._frame_start = 0

    def begin_frame(self) -> None:
        if self.enabled:
            self._current = {}
            self._frame_start = time.perf_counter_ns()

    def end_frame(self) -> None:
        """Close the frame: each stage's sum for the frame and the frame total are recorded."""
        if not self.enabled:
            return
        total = time.perf_counter_ns() - self._frame_start
        for stage in set(self.calls) | set(self._current):
            self.frames[stage].append(self._current.get(stage, 0))
        self.frames["total"].append(total)

    def add(self, stage: str, ns: int) -> None:
        if self.enabled:
            self.calls[stage].append(ns)
            self._current[stage] = self._current.get(stage, 0) + ns

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        t0 = time.perf_counter_ns()
        try:
            yield
        finally:
            self.add(name, time.perf_counter_ns() - t0)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per stage: calls, median/p95 ms per call, median/p95 ms per frame."""
        out: dict[str, dict[str, float]] = {}
        for stage in list(self.calls) + ["total"]:
            calls = np.asarray(self.calls.get(stage, ()), np.float64) / 1e6
            frames = np.asarray(self.frames.get(stage, ()), np.float64) / 1e6
            row = {"calls": int(calls.size)}
            if calls.size:
                row["call_median_ms"] = float(np.median(calls))
                row["call_p95_ms"] = float(np.percentile(calls, 95))
            if frames.size:
                row["frame_median_ms"] = float(np.median(frames))
                row["frame_p95_ms"] = float(np.percentile(frames, 95))
            out[stage] = row
        return out


class TimedDetector:
    """A face detector whose `detect` calls are timed as the "detect" stage."""

    def __init__(self, inner, timer: StageTimer):
        self.inner, self.timer = inner, timer

    def detect(self, image):
        with self.timer.stage("detect"):
            return self.inner.detect(image)

    def __getattr__(self, name):  # everything else (name, close, ...) passes through
        return getattr(self.inner, name)


class TimedLandmarker:
    """A landmarker whose `landmarks` calls are timed as the "landmarks" stage."""

    def __init__(self, inner, timer: StageTimer):
        self.inner, self.timer = inner, timer

    def landmarks(self, image, box):
        with self.timer.stage("landmarks"):
            return self.inner.landmarks(image, box)

    def __getattr__(self, name):
        return getattr(self.inner, name)
