"""QuantizationConfig: how one TFLite variant is converted (after MediaPipe Model Maker)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import numpy as np

MODES = ("float32", "float16", "dynamic", "int8")


@dataclasses.dataclass(frozen=True)
class QuantizationConfig:
    """The conversion settings of one variant; build it with a named constructor.

    Args:
        mode: "float32" (no quantization), "float16" (weights stored as float16,
            computed in float32), "dynamic" (int8 weights, float activations) or
            "int8" (weights and activations int8, int8 input and output).
        representative_data: float32 inputs (N, S, S, 3) for int8 calibration: the
            activation ranges are measured on them, so they must come from the
            training subjects (never the held-out ones).
        io_int8: int8 input and output tensors (int8 only); False keeps float
            input/output with quantize/dequantize ops at the ends.

    Example:
        >>> QuantizationConfig.for_int8(x_train[:100]).mode
        'int8'
    """

    mode: str = "float32"
    representative_data: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)
    io_int8: bool = True

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={self.mode!r}")
        if self.mode == "int8":
            data = self.representative_data
            if data is None or len(data) == 0:
                raise ValueError(
                    "int8 quantization needs representative data: QuantizationConfig.for_int8(x) with "
                    "x a float32 array (N, S, S, 3) from the training subjects, N >= 1. Received: none."
                )
            if np.asarray(data).ndim != 4:
                raise ValueError(
                    f"representative data must be a batch (N, S, S, C). Received shape {np.asarray(data).shape}"
                )
            if not np.all(np.isfinite(data)):
                raise ValueError("representative data contains NaN or inf: check the preprocessing.")
        elif self.representative_data is not None:
            raise ValueError(f"representative data is only used by int8. Received it for mode={self.mode!r}")

    @classmethod
    def for_float32(cls) -> "QuantizationConfig":
        return cls("float32")

    @classmethod
    def for_float16(cls) -> "QuantizationConfig":
        return cls("float16")

    @classmethod
    def for_dynamic(cls) -> "QuantizationConfig":
        return cls("dynamic")

    @classmethod
    def for_int8(cls, representative_data: np.ndarray | Iterable[np.ndarray], io_int8: bool = True) -> "QuantizationConfig":
        data = np.asarray(list(representative_data) if not isinstance(representative_data, np.ndarray) else representative_data)
        return cls("int8", data.astype(np.float32, copy=False), io_int8)

    def representative_dataset(self) -> Callable[[], Iterable[list[np.ndarray]]]:
        """The generator the TFLite converter calls: one sample (batch 1) at a time."""
        data = self.representative_data

        def gen():
            for i in range(len(data)):
                yield [data[i : i + 1]]

        return gen

    def apply(self, converter: Any) -> Any:
        """Set `converter`'s options for this mode; builtin ops only (no Flex/custom ops)."""
        import tensorflow as tf

        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if self.mode == "float32":
            return converter
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if self.mode == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif self.mode == "int8":
            converter.representative_dataset = self.representative_dataset()
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if self.io_int8:
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
        return converter

    def describe(self) -> dict[str, Any]:
        """What goes into the metadata's `quantization` entry."""
        out: dict[str, Any] = {"mode": self.mode}
        if self.mode == "int8":
            out["representative_samples"] = int(len(self.representative_data))
            out["io_int8"] = self.io_int8
        return out
