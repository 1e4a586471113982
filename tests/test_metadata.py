"""mer_tf.tflite_metadata: embedded metadata round-trips, LiteRT ignores it, bad files fail clearly."""

import json

import numpy as np
import pytest

from mer_tf import tflite_metadata as tm
from mer_tf.labels import CLASSES


@pytest.fixture(scope="module")
def bare_model() -> bytes:
    import keras
    import tensorflow as tf

    inp = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(len(CLASSES))(x)
    out = keras.layers.Activation("log_softmax")(x)
    model = keras.Model(inp, out)
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def _meta(variant="float32"):
    return {
        "labels": list(CLASSES),
        "preprocess": {"size": 16, "channels": 3},
        "variant": variant,
        "model_name": "toy",
        "input": {"name": "image", "shape": [1, 16, 16, 3], "dtype": "float32", "scale": 0.0, "zero_point": 0},
        "output": {"name": "out", "shape": [1, 7], "dtype": "float32", "scale": 0.0, "zero_point": 0},
    }


def _run(**kw):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(**kw)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    x = np.linspace(0, 1, int(np.prod(inp["shape"])), dtype=np.float32).reshape(inp["shape"])
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def test_round_trip_and_litert_ignores_archive(bare_model, tmp_path):
    data = tm.embed(bare_model, _meta())
    assert data.startswith(bare_model) and len(data) > len(bare_model)
    path = tmp_path / "toy.tflite"
    path.write_bytes(data)
    meta = tm.read(path)
    assert meta["labels"] == list(CLASSES)
    assert meta["preprocess"] == {"size": 16, "channels": 3}
    assert meta["schema_version"] == tm.SCHEMA_VERSION and meta["model_bytes"] == len(bare_model)
    reference = _run(model_content=bare_model)
    np.testing.assert_array_equal(_run(model_path=str(path)), reference)
    np.testing.assert_array_equal(_run(model_content=data), reference)


def test_embed_replaces_earlier_metadata(bare_model):
    once = tm.embed(bare_model, _meta("float32"))
    twice = tm.embed(once, _meta("int8"))
    assert tm.strip(twice) == bare_model
    assert tm.read_bytes(twice)["variant"] == "int8"
    assert len(twice) == len(tm.embed(bare_model, _meta("int8")))


def test_sidecar_round_trip(bare_model, tmp_path):
    path = tmp_path / "toy_int8.tflite"
    meta = tm.read_bytes(tm.embed(bare_model, _meta()))
    side = tm.write_sidecar(path, meta)
    assert side.name == "toy_int8.json"
    assert tm.read_sidecar(path) == meta
    assert json.loads(side.read_text())["labels"] == list(CLASSES)


def test_no_metadata_names_the_file(bare_model, tmp_path):
    path = tmp_path / "bare.tflite"
    path.write_bytes(bare_model)
    with pytest.raises(tm.MetadataError, match=r"bare\.tflite carries no embedded mer-tf metadata"):
        tm.read(path)


@pytest.mark.parametrize("cut", [10, 200])
def test_truncated_archive_names_the_file(bare_model, tmp_path, cut):
    data = tm.embed(bare_model, _meta())
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:-cut])
    with pytest.raises(tm.MetadataError, match=r"cut\.tflite is truncated"):
        tm.read(path)


def test_truncated_flatbuffer_names_the_file(bare_model, tmp_path):
    path = tmp_path / "stub.tflite"
    path.write_bytes(tm.embed(bare_model, _meta())[:6])
    with pytest.raises(tm.MetadataError, match=r"stub\.tflite is not a TFLite model"):
        tm.read(path)


def test_corrupt_model_part_names_the_file(bare_model, tmp_path):
    data = bytearray(tm.embed(bare_model, _meta()))
    data[len(bare_model) // 2] ^= 0xFF  # one flipped byte inside the weights
    path = tmp_path / "flip.tflite"
    path.write_bytes(bytes(data))
    with pytest.raises(tm.MetadataError, match=r"flip\.tflite is corrupt"):
        tm.read(path)


def test_garbage_and_missing_files(tmp_path):
    path = tmp_path / "junk.tflite"
    path.write_bytes(b"this is not a model at all" * 10)
    with pytest.raises(tm.MetadataError, match=r"junk\.tflite is not a TFLite model"):
        tm.read(path)
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        tm.read(tmp_path / "nope.tflite")
    with pytest.raises(FileNotFoundError, match="nope.json"):
        tm.read_sidecar(tmp_path / "nope.tflite")


def test_embed_rejects_bad_metadata(bare_model):
    bad = _meta()
    bad["labels"] = []
    with pytest.raises(ValueError, match="labels"):
        tm.embed(bare_model, bad)
    with pytest.raises(ValueError, match="variant"):
        tm.embed(bare_model, {**_meta(), "variant": "int4"})
    with pytest.raises(ValueError, match="preprocess"):
        tm.embed(bare_model, {k: v for k, v in _meta().items() if k != "preprocess"})


def test_quantize_dequantize():
    params = {"dtype": "int8", "scale": 0.5, "zero_point": -3}
    q = tm.quantize(np.array([0.0, 1.0, 1000.0, -1000.0]), params)
    assert q.dtype == np.int8 and q.tolist() == [-3, -1, 127, -128]
    np.testing.assert_allclose(tm.dequantize(q[:2], params), [0.0, 1.0])
    assert tm.quantize(np.ones(2), {"dtype": "float32", "scale": 0.0, "zero_point": 0}).dtype == np.float32


@pytest.mark.parametrize("payload,match", [
    ([1, 2, 3], r"odd\.tflite: its mer-tf metadata is a JSON list, not an object"),
    ({"schema": tm.SCHEMA, "schema_version": "one"}, r"odd\.tflite: its metadata schema_version must be an integer"),
])
def test_metadata_that_is_not_an_object_or_has_a_text_version(bare_model, tmp_path, payload, match):
    """A hand-edited or foreign archive: MetadataError naming the file, not AttributeError or a bare ValueError."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(tm.MEMBER, json.dumps(payload))
    path = tmp_path / "odd.tflite"
    path.write_bytes(bare_model + buf.getvalue())
    with pytest.raises(tm.MetadataError, match=match):
        tm.read(path)
    tm.sidecar_path(path).write_text(json.dumps(payload))
    with pytest.raises(tm.MetadataError, match=match.replace("tflite", "json")):
        tm.read_sidecar(path)
