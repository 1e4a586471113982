"""Shared fixtures for the edge tests: tiny real `.tflite` models with mer-tf metadata.

The models are built once per test process (TensorFlow is allowed in tests,
never in `edge/`): a small Keras CNN with a LogSoftmax output, converted to
float32 and to full int8 (int8 input and output) with tf.lite, then given the
metadata `mer export` writes. ``input_mode="flow"`` gives a model whose metadata says
it was trained on onset -> apex optical flow (its int8 variant is calibrated on
flow-like inputs: u, v in [-1, 1], strain in [0, 1]).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from mer_tf import tflite_metadata as tm
from mer_tf.labels import CLASSES

SIZE = 32  # small input: fast to convert and to run


def _keras_model():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu")(inp)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(len(CLASSES))(x)
    out = keras.layers.Activation("log_softmax")(x)
    return keras.Model(inp, out)


def faces(n: int = 16, seed: int = 0) -> np.ndarray:
    """Face-like float inputs in [0, 1] (what "unit" normalization gives)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, SIZE, SIZE, 3), dtype=np.float32)


def flows(n: int = 16, seed: int = 0) -> np.ndarray:
    """Flow-like float inputs: u, v in [-1, 1], strain in [0, 1] (what `flow_input` gives)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, SIZE, SIZE, 3), dtype=np.float32)
    x[..., :2] = 2 * x[..., :2] - 1
    return x


def input_meta(input_mode: str | None, flow_method: str = "dis") -> dict:
    """The `input_mode` and `input_spec` entries `mer export` writes (None: metadata without them)."""
    if input_mode is None:
        return {}
    from mer_tf.data.input_spec import InputSpec
    from mer_tf.preprocess import FacePreprocessParams

    spec = InputSpec(preprocess=FacePreprocessParams(size=SIZE).to_dict(),
                     detector="blazeface", landmarker="mediapipe")
    # mode and method unchecked here: the refusal tests pass bad ones
    spec = {**spec.to_dict(), "mode": input_mode, "flow_method": flow_method}
    return {"input_mode": input_mode, "input_spec": spec}


def io_meta(model_bytes: bytes) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model_bytes)
    out = {}
    for end, d in (("input", it.get_input_details()[0]), ("output", it.get_output_details()[0])):
        scale, zero = d["quantization"]
        out[end] = {"name": d["name"], "shape": [int(v) for v in d["shape"]],
                    "dtype": np.dtype(d["dtype"]).name, "scale": float(scale), "zero_point": int(zero)}
    out["output"]["kind"] = "log_probabilities"
    return out


def metadata(model_bytes: bytes, variant: str, input_mode: str | None = "apex", **overrides) -> dict:
    from mer_tf.preprocess import FacePreprocessParams

    meta = {"model_name": "tiny", "variant": variant, "labels": list(CLASSES),
            "preprocess": FacePreprocessParams(size=SIZE).to_dict(), **io_meta(model_bytes),
            **input_meta(input_mode)}
    meta.update(overrides)
    return meta


@lru_cache(maxsize=None)
def _built(input_mode: str = "apex") -> dict:
    import tensorflow as tf

    model = _keras_model()
    float_bytes = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    calibration = flows(32, seed=1) if input_mode == "flow" else faces(32, seed=1)
    conv.representative_dataset = lambda: ([x[None]] for x in calibration)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    int8_bytes = conv.convert()
    x = faces()
    return {"float32": bytes(float_bytes), "int8": bytes(int8_bytes),
            "keras_out": np.asarray(model(x, training=False)), "x": x}


def bare(variant: str, input_mode: str = "apex") -> bytes:
    """The bare flatbuffer (no metadata) of the tiny model (int8: calibrated for ``input_mode``)."""
    return _built("flow" if input_mode == "flow" and variant != "float32" else "apex")[variant]


def keras_reference() -> tuple[np.ndarray, np.ndarray]:
    """(inputs, Keras log-probabilities) to compare LiteRT against."""
    b = _built()
    return b["x"], b["keras_out"]


_DIR = Path(tempfile.mkdtemp(prefix="mer-edge-test-"))
atexit.register(shutil.rmtree, _DIR, True)


@lru_cache(maxsize=None)
def model_file(variant: str = "int8", input_mode: str = "apex") -> Path:
    """A `.tflite` with embedded metadata (and its sidecar), as `mer export` writes it.

    Args:
        variant: "float32" or "int8".
        input_mode: "apex" or "flow" (what the metadata says the model was trained on).
    """
    data = bare(variant, input_mode)
    path = _DIR / f"tiny_{input_mode}_{variant}.tflite"
    path.write_bytes(tm.embed(data, metadata(data, variant, input_mode)))
    tm.write_sidecar(path, tm.read(path))
    return path


def write_model(folder: Path, name: str, variant: str = "int8", sidecar: bool = False,
                embed: bool = True, input_mode: str | None = "apex", **overrides) -> Path:
    """A model file in ``folder`` with custom metadata (for the refusal tests).

    ``input_mode=None`` writes metadata without `input_mode`/`input_spec` (as before they existed);
    ``overrides`` replace top-level metadata entries.
    """
    data = bare(variant, input_mode or "apex")
    meta = metadata(data, variant, input_mode, **overrides)
    path = Path(folder) / name
    path.write_bytes(tm.embed(data, meta) if embed else data)
    if sidecar:
        full = tm.read_bytes(tm.embed(data, meta))
        tm.write_sidecar(path, full)
    return path
