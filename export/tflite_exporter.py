"""TFLiteExporter: a trained Keras model -> `.tflite` variants with a named signature and metadata."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from export.litert_model import LiteRTModel
from export.quantization import QuantizationConfig
from mer_tf import tflite_metadata

log = logging.getLogger(__name__)

SIGNATURE = "classify"  # the signature key every exported file carries
INPUT_NAME = "image"
OUTPUT_NAME = "log_probs"


def _mer_tf_version() -> str:
    try:
        from importlib.metadata import version

        return version("mer-tf")
    except Exception:  # not installed (a source checkout): the metadata still says so
        return "unknown"


class TFLiteExporter:
    """Converts one Keras model (Keras 3, or tf_keras in the QAT environment) to TFLite.

    The model is saved once as a SavedModel whose only signature is `classify`
    (input `image`: float32 (1, S, S, C); output `log_probs`: (1, num_classes)),
    and every variant is converted from it with builtin ops only.

    Args:
        model: a Keras model mapping (N, S, S, C) float32 to log-probabilities.
        metadata: the variant-independent part of the embedded metadata: at least
            `labels` and `preprocess`, usually also `model_name` and `source`.
        signature: the signature key.

    Example:
        >>> exporter = TFLiteExporter(model, {"labels": CLASSES, "preprocess": params.to_dict()})
        >>> meta = exporter.export(QuantizationConfig.for_int8(x_train), "out/eccnn_int8.tflite")
    """

    def __init__(self, model: Any, metadata: dict[str, Any], signature: str = SIGNATURE):
        self._tmp: str | None = None  # first: close() (and __del__) runs even when a check below refuses the model
        for key in ("labels", "preprocess"):
            if key not in metadata:
                raise ValueError(f"TFLiteExporter metadata needs {key!r}. Received keys: {sorted(metadata)}")
        self.model = model
        self.metadata = dict(metadata)
        self.signature = signature
        shape = tuple(model.inputs[0].shape)
        if len(shape) != 4 or any(d is None for d in shape[1:]):
            raise ValueError(f"TFLiteExporter needs an image model with input (N, S, S, C). Received {shape}")
        self.input_shape = (1,) + tuple(int(d) for d in shape[1:])

    def saved_model_dir(self) -> str:
        """Save the model once with its named signature (a temporary SavedModel)."""
        if self._tmp is None:
            import tensorflow as tf

            self._tmp = tempfile.mkdtemp(prefix="mer_tf_savedmodel_")
            spec = tf.TensorSpec(self.input_shape, tf.float32, name=INPUT_NAME)
            model = self.model

            def classify(image):
                return {OUTPUT_NAME: model(image, training=False)}

            if type(model).__module__.startswith("keras.src"):
                # Keras 3: a plain tf.Module does not track Keras 3 variables as
                # SavedModel variables (LiteRT then fails in READ_VARIABLE);
                # ExportArchive does, and turns each endpoint into a signature.
                import keras

                archive = keras.export.ExportArchive()
                archive.track(model)
                archive.add_endpoint(name=self.signature, fn=classify, input_signature=[spec])
                archive.write_out(self._tmp, verbose=False)
            else:  # tf_keras (the QAT environment): its models are TF trackables
                module = tf.Module()
                module.model = model
                fn = tf.function(classify, input_signature=[spec])
                tf.saved_model.save(module, self._tmp, signatures={self.signature: fn})
        return self._tmp

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __del__(self):
        self.close()

    def convert(self, config: QuantizationConfig) -> bytes:
        """The bare flatbuffer of one variant (no metadata)."""
        import tensorflow as tf

        converter = tf.lite.TFLiteConverter.from_saved_model(self.saved_model_dir(), signature_keys=[self.signature])
        config.apply(converter)
        log.info("converting %s variant", config.mode)
        return bytes(converter.convert())

    def keras_predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(np.asarray(x, np.float32), training=False), dtype=np.float32)

    def check_forward(self, tflite: bytes | str | os.PathLike, x: np.ndarray) -> dict[str, float]:
        """Compare a converted variant with the Keras model on `x` (timm's check_forward).

        Returns max/mean absolute log-probability difference and top-1 agreement.
        """
        lite = LiteRTModel(tflite, signature=self.signature)
        got, ref = lite(x), self.keras_predict(x)
        diff = np.abs(got - ref)
        return {
            "samples": int(len(x)),
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
            "top1_agreement": float(np.mean(got.argmax(1) == ref.argmax(1))),
        }

    def describe_io(self, tflite: bytes) -> dict[str, Any]:
        """Input/output name, shape, dtype, scale and zero point as read back from LiteRT."""
        lite = LiteRTModel(tflite, signature=self.signature)
        out = {}
        for end, details, (scale, zero) in (
            ("input", lite.input_details, lite.input_quantization),
            ("output", lite.output_details, lite.output_quantization),
        ):
            out[end] = {
                "name": INPUT_NAME if end == "input" else OUTPUT_NAME,
                "shape": [int(d) for d in details["shape"]],
                "dtype": np.dtype(details["dtype"]).name,
                "scale": scale,
                "zero_point": zero,
            }
        out["output"]["kind"] = "log_probabilities"
        out["ops"] = lite.op_names()
        return out

    def export(
        self,
        config: QuantizationConfig,
        path: str | os.PathLike,
        variant: str | None = None,
        check_data: np.ndarray | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Convert, check, embed metadata and write `path` + its sidecar atomically.

        Args:
            config: the variant's quantization settings.
            path: the `.tflite` to write.
            variant: the metadata's variant name (default: `config.mode`).
            check_data: float32 inputs to compare LiteRT against Keras on.
            extra: more metadata entries (e.g. `quantization` additions).

        Returns:
            The metadata written (with `check_forward` results when `check_data` is given).
        """
        return self.write(self.convert(config), path, variant or config.mode, config.describe(), check_data, extra)

    def write(
        self,
        bare: bytes,
        path: str | os.PathLike,
        variant: str,
        quantization: dict[str, Any],
        check_data: np.ndarray | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Embed metadata into an already converted flatbuffer (e.g. from the QAT environment) and write it."""
        io = self.describe_io(bare)
        flex = [op for op in io["ops"] if op.startswith("Flex") or op == "CUSTOM"]
        if flex:
            raise RuntimeError(f"the {variant} conversion produced non-builtin ops {flex}; the device cannot run them.")
        meta = {
            **self.metadata,
            "labels": list(self.metadata["labels"]),
            "variant": variant,
            "signature": self.signature,
            "input": io["input"],
            "output": io["output"],
            "ops": io["ops"],
            "quantization": dict(quantization),
            "mer_tf_version": _mer_tf_version(),
        }
        for key, value in (extra or {}).items():
            meta[key] = {**meta[key], **value} if isinstance(meta.get(key), dict) and isinstance(value, dict) else value
        if check_data is not None:
            meta["check_forward"] = self.check_forward(bare, check_data)
        data = tflite_metadata.embed(bare, meta)
        tflite_metadata.atomic_write(path, data)
        meta = tflite_metadata.read(path)  # what the device will see, schema fields included
        tflite_metadata.write_sidecar(path, meta)
        log.info("wrote %s (%d bytes)", path, len(data))
        return meta
