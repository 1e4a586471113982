"""Annotator: writes the annotated video (boxes, landmarks, spotting meter, live labels).

The video is written under a temporary name and renamed when closed, so an
interrupted run never leaves a half-written file under the requested name.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from edge.sources import Frame

log = logging.getLogger(__name__)

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}
GREEN, ORANGE, RED, WHITE = (80, 200, 80), (0, 165, 255), (40, 40, 230), (255, 255, 255)


class Annotator:
    """Draws faces and labels on frames and writes them to a video file.

    Args:
        path: the output video (.mp4, .avi, .mkv).
        fps: its frame rate (the source's).

    Example:
        >>> with Annotator("out.mp4", fps=30) as ann:
        ...     runner.run(source, on_frame=ann.write)
    """

    def __init__(self, path: str | Path, fps: float = 30.0):
        from mer_tf.atomic import remove_stale

        self.path = Path(path)
        suffix = self.check_suffix(self.path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"Folder {self.path.parent} for the annotated video does not exist; create it first.")
        # Same suffix, so OpenCV picks the same container for the temporary file; the pid lets
        # the next run remove what a killed one left.
        remove_stale(self.path.parent, self.path.name)
        self._tmp = self.path.with_name(f".{self.path.name}.part-{os.getpid()}-{suffix}")
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    @staticmethod
    def check_suffix(path: str | Path) -> str:
        """The video's suffix, if OpenCV can write it here; else ValueError naming the choices."""
        suffix = Path(path).suffix.lower()
        if suffix not in FOURCC:
            raise ValueError(f"Annotated video {path} must end in one of {sorted(FOURCC)}. "
                             f"Received suffix {suffix!r}.")
        return suffix

    def _open(self, width: int, height: int) -> None:
        try:  # a folder we cannot write to is not a codec problem: say which it is
            self._tmp.touch()
        except OSError as err:
            raise ValueError(f"Cannot write the annotated video {self.path}: {err.strerror}. "
                             "Choose a writable folder.") from None
        fourcc = cv2.VideoWriter_fourcc(*FOURCC[self.path.suffix.lower()])
        self._writer = cv2.VideoWriter(str(self._tmp), fourcc, self.fps, (width, height))
        if not self._writer.isOpened():
            raise ValueError(f"OpenCV cannot write the video {self.path} ({FOURCC[self.path.suffix.lower()]}); "
                             "try an .avi output.")
        self._size = (width, height)

    def draw(self, frame: Frame, views: list) -> np.ndarray:
        """The frame with every face drawn (a grey placeholder for a corrupt frame)."""
        if frame.image is None:
            w, h = self._size or (640, 480)
            canvas = np.full((h, w, 3), 40, np.uint8)
            cv2.putText(canvas, f"frame {frame.index}: {frame.error}", (10, 30),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.6, WHITE, 1, cv2.LINE_AA)
            return canvas
        canvas = frame.image.copy()
        for v in views:
            color = RED if v.active else (GREEN if v.ready else ORANGE)
            b = v.box
            cv2.rectangle(canvas, (int(b.x0), int(b.y0)), (int(b.x1), int(b.y1)), color, 2)
            for x, y in np.asarray(v.landmarks, np.float32):
                cv2.circle(canvas, (int(round(x)), int(round(y))), 1, color, -1)
            text = f"#{v.face_id} dev {v.deviation:.3f}/{v.threshold:.3f}"
            if not v.ready:
                text += " learning neutral"
            cv2.putText(canvas, text, (int(b.x0), max(12, int(b.y0) - 6)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
            if v.label:
                cv2.putText(canvas, f"{v.label} ({v.label_source})", (int(b.x0), int(b.y1) + 18),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.6, WHITE, 2, cv2.LINE_AA)
        cv2.putText(canvas, f"{frame.index}  {frame.time:.2f}s", (8, canvas.shape[0] - 8),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, WHITE, 1, cv2.LINE_AA)
        return canvas

    def write(self, frame: Frame, views: list) -> None:
        """Draw and append one frame (frames of another size are resized to the first)."""
        canvas = self.draw(frame, views)
        if self._writer is None:
            self._open(canvas.shape[1], canvas.shape[0])
        if (canvas.shape[1], canvas.shape[0]) != self._size:
            canvas = cv2.resize(canvas, self._size)
        self._writer.write(canvas)
        self.frames_written += 1

    def close(self) -> Path | None:
        """Finish the file and move it into place; None if no frame was written."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        os.replace(self._tmp, self.path)
        log.info("annotated video: %s (%d frames)", self.path, self.frames_written)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Annotator:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
