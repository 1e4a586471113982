"""Quiet by default: the libraries' own log lines stay out of normal use; `-v` brings them back.

What prints, and what silences it (measured on this project's stack):

- TensorFlow's C++ start-up lines (oneDNN, CPU features, absl "before
  InitializeLog") honour `TF_CPP_MIN_LOG_LEVEL`, read once when TensorFlow
  loads: set before any import.
- LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate" and the TFLite
  converter's MLIR lines ignore every environment variable; they go to file
  descriptor 2 from C++. `native_stderr_to_log` lends the descriptor to a
  temporary file for the duration of the call and hands the lines to a logger
  (INFO: shown with -v, and always kept when the call fails).
- OpenCV's "[ WARN:0@...] global cap_v4l.cpp" lines before a camera error
  honour `OPENCV_LOG_LEVEL`, or `cv2.utils.logging.setLogLevel` once loaded;
  the command's own one-line error says what failed.
- Python warnings from TensorFlow and Keras go through `logging` ("py.warnings").

Standard library only; nothing here imports TensorFlow or OpenCV.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from contextlib import contextmanager

_quiet = False


def quiet_libraries(verbose: int = 0) -> None:
    """Silence library log lines for this process unless `verbose` (the command's -v count)."""
    global _quiet
    logging.captureWarnings(True)
    if verbose:
        _quiet = False
        return
    _quiet = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING lines of TensorFlow
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # camera probing; our error names the camera
    os.environ.setdefault("GLOG_minloglevel", "2")
    logging.getLogger("py.warnings").setLevel(logging.ERROR)  # library UserWarnings (shown with -v)
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if "cv2" in sys.modules:  # already loaded (a test, an embedding program): set it directly
        try:
            sys.modules["cv2"].utils.logging.setLogLevel(0)  # LOG_LEVEL_SILENT
        except AttributeError:
            pass


@contextmanager
def native_stderr_to_log(logger: logging.Logger, what: str = "native library"):
    """Capture what C/C++ code writes to stderr inside the block and log it at INFO.

    Without `quiet_libraries` (a library user, or -v) the lines go to stderr as
    usual. When the block raises, the captured lines are logged at WARNING,
    since they may say why.
    """
    if not _quiet:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (an embedding program): nothing to capture
        yield
        return
    failed = False
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            for line in text.splitlines():
                if line.strip():
                    logger.log(logging.WARNING if failed else logging.INFO, "%s: %s", what, line.rstrip())
