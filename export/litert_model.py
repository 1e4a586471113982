"""LiteRTModel: run an exported `.tflite` through its named signature in ai_edge_litert."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


class LiteRTModel:
    """A `.tflite` classifier in `ai_edge_litert.interpreter.Interpreter`, float in, float out.

    Quantized input/output tensors are handled here, explicitly: the float input
    is divided by the input tensor's scale and shifted by its zero point, and the
    int8 output is mapped back with the output tensor's scale and zero point, so
    every variant is called the same way (a classifier for `mer_tf.fusion.Pipeline`).

    Args:
        model: path of a `.tflite` file or its bytes.
        num_threads: LiteRT CPU threads.
        signature: the signature key; None takes the model's only signature.
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: int = 1, signature: str | None = None):
        from ai_edge_litert.interpreter import Interpreter

        if isinstance(model, (bytes, bytearray)):
            self.interpreter = Interpreter(model_content=bytes(model), num_threads=num_threads)
            self.name = "<bytes>"
        else:
            path = Path(model)
            if not path.is_file():
                raise FileNotFoundError(f"TFLite model not found: {path}")
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
            self.name = str(path)
        signatures = self.interpreter.get_signature_list()
        if signature is None:
            if len(signatures) != 1:
                raise ValueError(f"{self.name} has signatures {sorted(signatures)}; pass signature= one of them.")
            signature = next(iter(signatures))
        if signature not in signatures:
            raise ValueError(f"{self.name} has no signature {signature!r}; it has {sorted(signatures)}.")
        self.signature = signature
        self.runner = self.interpreter.get_signature_runner(signature)
        (self.input_name, self.input_details), = self.runner.get_input_details().items()
        (self.output_name, self.output_details), = self.runner.get_output_details().items()

    @staticmethod
    def _qparams(details: dict) -> tuple[float, int]:
        scales = details["quantization_parameters"]["scales"]
        zeros = details["quantization_parameters"]["zero_points"]
        if len(scales) == 0:
            return 0.0, 0
        return float(scales[0]), int(zeros[0])

    @property
    def input_quantization(self) -> tuple[float, int]:
        """(scale, zero_point) of the input tensor; (0.0, 0) when it is float."""
        return self._qparams(self.input_details)

    @property
    def output_quantization(self) -> tuple[float, int]:
        return self._qparams(self.output_details)

    @property
    def input_dtype(self) -> np.dtype:
        return np.dtype(self.input_details["dtype"])

    @property
    def output_dtype(self) -> np.dtype:
        return np.dtype(self.output_details["dtype"])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.input_details["shape"])

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        scale, zero = self.input_quantization
        if scale == 0.0:
            return np.asarray(x, dtype=self.input_dtype)
        info = np.iinfo(self.input_dtype)
        return np.clip(np.round(np.asarray(x, np.float32) / scale + zero), info.min, info.max).astype(self.input_dtype)

    def dequantize_output(self, q: np.ndarray) -> np.ndarray:
        scale, zero = self.output_quantization
        if scale == 0.0:
            return np.asarray(q, dtype=np.float32)
        return (np.asarray(q, np.float32) - zero) * np.float32(scale)

    def _invoke(self, x1: np.ndarray) -> np.ndarray:
        return self.runner(**{self.input_name: x1})[self.output_name]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Float32 log-probabilities (N, C) for a float32 batch (N, S, S, C), one sample per invoke."""
        x = np.asarray(x, np.float32)
        if x.ndim == len(self.input_shape) - 1:
            x = x[None]
        if tuple(x.shape[1:]) != self.input_shape[1:]:
            raise ValueError(f"{self.name} expects inputs of shape (N, {self.input_shape[1:]}); received {x.shape}.")
        q = self.quantize_input(x)
        return np.concatenate([self.dequantize_output(self._invoke(q[i : i + 1])) for i in range(len(q))], axis=0)

    def latency_ms(self, x1: np.ndarray, runs: int = 50, warmup: int = 5) -> np.ndarray:
        """Per-inference wall times (ms) of `runs` invokes on one quantized sample."""
        q = self.quantize_input(np.asarray(x1, np.float32).reshape((1,) + self.input_shape[1:]))
        for _ in range(warmup):
            self._invoke(q)
        times = np.empty(runs)
        for i in range(runs):
            t0 = time.perf_counter()
            self._invoke(q)
            times[i] = (time.perf_counter() - t0) * 1000.0
        return times

    def op_names(self) -> list[str]:
        """The distinct op names in the graph (to prove builtin ops only)."""
        try:
            details = self.interpreter._get_ops_details()  # no public API lists the ops
        except AttributeError:
            return []
        return sorted({d["op_name"] for d in details})
