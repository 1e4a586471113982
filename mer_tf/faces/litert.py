"""Load a .tflite model in LiteRT (``ai_edge_litert``), never TensorFlow."""

from __future__ import annotations

import logging
import os

from mer_tf.quiet import native_stderr_to_log


def load_interpreter(path, num_threads: int | None = None):
    """An allocated ``ai_edge_litert.interpreter.Interpreter`` for a model file.

    Args:
        path: the ``.tflite`` file.
        num_threads: CPU threads (default: ``MER_TF_THREADS`` or 1; a face
            model is small, and the device's other cores run the camera and
            the classifier).
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:
        raise ImportError("The MediaPipe backends run in LiteRT: pip install ai-edge-litert") from err
    threads = num_threads or int(os.environ.get("MER_TF_THREADS", "1"))
    with native_stderr_to_log(logging.getLogger(__name__), "LiteRT"):  # the XNNPACK INFO line: shown with -v
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    return interpreter
