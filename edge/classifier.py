"""LiteRTClassifier: a `.tflite` face classifier run by the LiteRT interpreter.

It is a callable from a float32 face batch (N, S, S, C) to log-probabilities
(N, K): exactly what `mer_tf.fusion.Pipeline` expects of a classifier. int8 and
uint8 models are quantized on the way in and dequantized on the way out with
each tensor's own scale and zero point, so callers only ever see floats.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer_tf.quiet import native_stderr_to_log

log = logging.getLogger(__name__)

OUTPUT_KINDS = ("log_probabilities", "probabilities", "logits")


@dataclass(frozen=True)
class Category:
    """One class of a prediction: its label, its probability and its index."""

    label: str
    score: float
    index: int


def _interpreter(model_path: str, num_threads: int):
    # Imported here so that `mer-edge --help` does not load the runtime.
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=model_path, num_threads=num_threads)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for large values."""
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


class LiteRTClassifier:
    """A `.tflite` classifier with int8 (de)quantization done explicitly.

    Args:
        model_path: the `.tflite` file.
        num_threads: interpreter threads (the same for every model in a benchmark).
        labels: class names in output order; default: "0", "1", ...
        output_kind: what the model outputs: "log_probabilities" (ECCNN's
            LogSoftmax), "probabilities" (softmax) or "logits". Whatever it is,
            calls return normalized log-probabilities.

    Example:
        >>> clf = LiteRTClassifier("eccnn_int8.tflite", num_threads=2, labels=CLASSES)
        >>> log_probs = clf(faces)            # (N, 7)
        >>> clf.top(faces[0])[0].label        # "Happy"
    """

    def __init__(self, model_path: str | Path, num_threads: int = 1,
                 labels: tuple[str, ...] | list[str] | None = None,
                 output_kind: str = "log_probabilities"):
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"Model file not found: {path}. Pass the .tflite written by `mer export`.")
        if num_threads < 1:
            raise ValueError(f"`num_threads` must be >= 1. Received: num_threads={num_threads}")
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"`output_kind` must be one of {OUTPUT_KINDS}. Received: output_kind={output_kind!r}")
        self.model_path = path
        self.num_threads = num_threads
        self.output_kind = output_kind
        try:
            with native_stderr_to_log(log, "LiteRT"):  # the XNNPACK INFO line: shown with -v
                self._interp = _interpreter(str(path), num_threads)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"LiteRT cannot load {path}: {err}. Is it a .tflite file?") from err
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{path} has {len(inputs)} inputs and {len(outputs)} outputs; a face "
                             "classifier has one image input and one class-score output.")
        self._in, self._out = inputs[0], outputs[0]
        shape = tuple(int(d) for d in self._in["shape"])
        if len(shape) != 4:
            raise ValueError(f"{path}: input shape {shape} is not (1, H, W, C).")
        self.input_shape: tuple[int, int, int] = shape[1:]  # (H, W, C)
        self.input_dtype = np.dtype(self._in["dtype"])
        self.output_dtype = np.dtype(self._out["dtype"])
        self.num_classes = int(self._out["shape"][-1])
        self._in_scale, self._in_zero = self._in["quantization"]
        self._out_scale, self._out_zero = self._out["quantization"]
        if labels is None:
            labels = tuple(str(i) for i in range(self.num_classes))
        if len(labels) != self.num_classes:
            raise ValueError(f"{path} outputs {self.num_classes} classes but {len(labels)} labels "
                             f"were given: {list(labels)}")
        self.labels = tuple(labels)

    @property
    def quantized(self) -> bool:
        """True for integer input (a full-integer model)."""
        return self.input_dtype in (np.dtype(np.int8), np.dtype(np.uint8))

    @property
    def output_step(self) -> float:
        """The smallest change an integer output can make, in its float units (0.0 for a float output).

        For an int8 LogSoftmax this is the log-probability quantum: two classes whose scores differ
        by a step or two are a near tie that rounding on another CPU may turn round.
        """
        if self.output_dtype in (np.dtype(np.int8), np.dtype(np.uint8)):
            return float(self._out_scale or 1.0)
        return 0.0

    def _preprocess(self, face: np.ndarray) -> np.ndarray:
        # face: (H, W, C) float32, already normalized by mer_tf.preprocess.
        x = np.asarray(face, dtype=np.float32)[None]
        if self.quantized:
            info = np.iinfo(self.input_dtype)
            scale = self._in_scale or 1.0
            x = np.clip(np.round(x / scale + self._in_zero), info.min, info.max)
        return x.astype(self.input_dtype)

    def _postprocess(self, raw: np.ndarray) -> np.ndarray:
        y = raw.astype(np.float32)
        if self.output_dtype in (np.dtype(np.int8), np.dtype(np.uint8)):
            y = (y - self._out_zero) * (self._out_scale or 1.0)
        if self.output_kind == "probabilities":
            y = np.log(np.clip(y, 1e-7, None))
        # Renormalize: int8 log-probabilities come in steps of the output
        # scale and no longer sum to exactly one.
        return log_softmax(y)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Log-probabilities (N, K) float32 for a face batch (N, H, W, C) float32."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        if batch.shape[1:] != self.input_shape:
            raise ValueError(f"Face batch shape {batch.shape[1:]} does not match the model input "
                             f"{self.input_shape} of {self.model_path.name}.")
        out = np.empty((len(batch), self.num_classes), np.float32)
        for i, face in enumerate(batch):
            self._interp.set_tensor(self._in["index"], self._preprocess(face))
            self._interp.invoke()
            out[i] = self._postprocess(self._interp.get_tensor(self._out["index"]))[0]
        return out

    def top(self, face: np.ndarray, k: int | None = None) -> list[Category]:
        """The classes of one face, most probable first."""
        probs = np.exp(self(face[None] if face.ndim == 3 else face)[0])
        order = np.argsort(-probs)[: k or self.num_classes]
        return [Category(self.labels[i], float(probs[i]), int(i)) for i in order]
