"""Frame sources: a camera index, a video file, a folder of images, or any iterable of arrays.

Every source yields `Frame`s and never raises mid-stream: a frame that cannot
be read or decoded arrives with ``image=None`` and an ``error`` saying why, so
the frame loop can count it and go on. Only opening can fail, with a
`SourceError` that names the source and the fix (a camera that cannot be
opened, a missing file, an empty folder).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")

# A camera or a video that fails this many reads in a row has ended (unplugged,
# truncated file); isolated failures are counted as corrupt frames.
MAX_CONSECUTIVE_FAILURES = 5


class SourceError(RuntimeError):
    """A source that cannot be opened; the message names it and the fix."""


@dataclass(frozen=True)
class Frame:
    """One frame of a stream.

    Args:
        index: 0-based position in the stream (corrupt frames count too).
        time: seconds from the start of the stream (index / fps for files).
        image: BGR uint8 (H, W, 3), or None when the frame could not be read.
        error: why ``image`` is None.
        name: the file name for image folders, else None.
    """

    index: int
    time: float
    image: np.ndarray | None
    error: str | None = None
    name: str | None = None


@dataclass
class SourceStats:
    """What a source saw: frames delivered, corrupt frames, whether it ended early."""

    frames: int = 0
    corrupt: int = 0
    ended_early: bool = False
    expected_frames: int | None = None
    notes: list[str] = field(default_factory=list)


def as_bgr(image: object) -> tuple[np.ndarray | None, str | None]:
    """Normalize an array to BGR uint8 (H, W, 3), or return (None, reason)."""
    if image is None:
        return None, "frame is None"
    if not isinstance(image, np.ndarray):
        return None, f"frame is a {type(image).__name__}, not a NumPy array"
    if image.dtype != np.uint8:
        return None, f"frame dtype is {image.dtype}, expected uint8"
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif not (image.ndim == 3 and image.shape[2] == 3):
        return None, f"frame shape {image.shape} is not (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
    if image.shape[0] < 8 or image.shape[1] < 8:
        return None, f"frame is too small: {image.shape[:2]}"
    return np.ascontiguousarray(image), None


class FrameSource:
    """Base class: iterate to get `Frame`s; ``stats`` says what happened."""

    description = "frames"
    fps: float = 30.0

    def __init__(self) -> None:
        self.stats = SourceStats()

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _frame(self, index: int, t: float, image: object, name: str | None = None,
               error: str | None = None) -> Frame:
        self.stats.frames += 1
        if error is None:
            image, error = as_bgr(image)
        else:
            image = None
        if image is None:
            self.stats.corrupt += 1
            log.debug("%s: frame %d unusable: %s", self.description, index, error)
        return Frame(index=index, time=t, image=image, error=error, name=name)


class ArraySource(FrameSource):
    """Frames from any iterable of arrays (tests, generators, other capture code).

    Args:
        frames: an iterable of images (uint8 BGR or gray); None items are corrupt frames.
        fps: the frame rate used for timestamps.
    """

    def __init__(self, frames: Iterable[object], fps: float = 30.0, description: str = "arrays"):
        super().__init__()
        if fps <= 0:
            raise ValueError(f"`fps` must be positive. Received: fps={fps}")
        self._frames = frames
        self.fps = float(fps)
        self.description = description

    def __iter__(self) -> Iterator[Frame]:
        for i, image in enumerate(self._frames):
            yield self._frame(i, i / self.fps, image)


class CaptureSource(FrameSource):
    """A camera (integer index) or a video file, read with cv2.VideoCapture.

    Args:
        target: camera index or video path.
        fps: frame rate to assume when the container does not say.
    """

    def __init__(self, target: int | str | Path, fps: float | None = None):
        super().__init__()
        self.is_camera = isinstance(target, int)
        self.description = f"camera {target}" if self.is_camera else f"video {target}"
        if not self.is_camera and not Path(target).is_file():
            raise SourceError(f"Video file not found: {target}. Pass an existing file, a folder "
                              "of images, or a camera index such as 0.")
        self._cap = cv2.VideoCapture(target if self.is_camera else str(target))
        if not self._cap.isOpened():
            self._cap.release()
            if self.is_camera:
                raise SourceError(f"Camera {target} could not be opened (no device, busy, or no "
                                  "permission: check `ls /dev/video*` and that your user is in the "
                                  "`video` group), or pass a video file / image folder instead.")
            raise SourceError(f"Video {target} could not be opened by OpenCV: the file is not a "
                              "video or its codec is unsupported (re-encode it to MP4/H.264 or MJPG).")
        container_fps = self._cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = float(fps or (container_fps if 0 < container_fps < 1000 else 30.0))
        if not self.is_camera:
            count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self.stats.expected_frames = count if count > 0 else None

    def __iter__(self) -> Iterator[Frame]:
        index, failures, start = 0, 0, time.monotonic()
        while True:
            ok, image = self._cap.read()
            if ok and image is not None:
                # Failed reads followed by a good one were corrupt frames in the middle.
                for _ in range(failures):
                    yield self._frame(index, self._time(index, start), None, error="read failed")
                    index += 1
                failures = 0
                yield self._frame(index, self._time(index, start), image)
                index += 1
                continue
            expected = self.stats.expected_frames
            if not self.is_camera and (expected is None or index + failures >= expected):
                return  # the normal end of a file
            failures += 1
            if failures >= MAX_CONSECUTIVE_FAILURES:
                self.stats.ended_early = True
                note = (f"{self.description} ended after {index} frames"
                        + (f" of {expected} announced" if expected else "")
                        + f": {failures} reads in a row failed")
                self.stats.notes.append(note)
                log.warning(note)
                return

    def _time(self, index: int, start: float) -> float:
        return time.monotonic() - start if self.is_camera else index / self.fps

    def close(self) -> None:
        self._cap.release()


def _truncated(data: bytes, suffix: str) -> bool:
    # OpenCV decodes a truncated JPEG into a partly grey image with only a
    # warning on stderr; the end-of-image marker is how we notice.
    if suffix in (".jpg", ".jpeg"):
        return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if suffix == ".png":
        return b"IEND" not in data[-32:]
    return False


class ImageFolderSource(FrameSource):
    """The images of a folder in name order (natural order: img2 before img10).

    Args:
        folder: the folder.
        fps: the frame rate used for timestamps (image folders carry none).
    """

    def __init__(self, folder: str | Path, fps: float = 30.0):
        super().__init__()
        self.folder = Path(folder)
        self.description = f"images in {self.folder}"
        self.fps = float(fps)
        self.files = sorted((p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                            key=_natural_key)
        if not self.files:
            raise SourceError(f"No images ({', '.join(IMAGE_SUFFIXES)}) in folder {self.folder}.")
        self.stats.expected_frames = len(self.files)

    def __iter__(self) -> Iterator[Frame]:
        for i, path in enumerate(self.files):
            t = i / self.fps
            try:
                data = path.read_bytes()
            except OSError as err:
                yield self._frame(i, t, None, path.name, error=f"cannot read: {err.strerror}")
                continue
            if _truncated(data, path.suffix.lower()):
                yield self._frame(i, t, None, path.name, error="truncated image file")
                continue
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            error = None if image is not None else "not a decodable image"
            yield self._frame(i, t, image, path.name, error=error)


def _natural_key(path: Path) -> list[object]:
    import re

    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def open_source(spec: str | int | Path, fps: float | None = None) -> FrameSource:
    """Open ``spec``: an integer (or digit string) camera index, a video file or an image folder.

    Raises:
        SourceError: the source does not exist or cannot be opened (the message says how to fix it).
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CaptureSource(int(spec), fps=fps)
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path, fps=fps or 30.0)
    if path.exists():
        return CaptureSource(path, fps=fps)
    raise SourceError(f"Source {str(spec)!r} is not a camera index, a video file or a folder of "
                      "images. Use e.g. --source 0, --source clip.mp4 or --source frames/.")
