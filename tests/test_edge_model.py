"""edge.classifier and edge.model_info: LiteRT with int8 (de)quantization; metadata checks and refusals."""

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import edge_support as es
from edge.classifier import LiteRTClassifier
from edge.model_info import ModelInfo, ModelMetadataError
from mer_tf import tflite_metadata as tm
from mer_tf.labels import CLASSES


@pytest.mark.parametrize("variant", ["float32", "int8"])
def test_classifier_matches_keras(variant):
    x, ref = es.keras_reference()
    clf = LiteRTClassifier(es.model_file(variant), num_threads=1, labels=CLASSES)
    got = clf(x)
    assert got.shape == (len(x), 7) and got.dtype == np.float32
    np.testing.assert_allclose(np.exp(got).sum(1), 1.0, atol=1e-5)  # normalized log-probabilities
    if variant == "float32":
        np.testing.assert_allclose(got, ref, atol=1e-4)
    else:
        assert clf.quantized and clf.input_dtype == np.int8
        # int8: coarse output steps, but the distribution and the ranking follow the float model
        assert np.abs(np.exp(got) - np.exp(ref)).max() < 0.05
        assert np.mean(got.argmax(1) == ref.argmax(1)) >= 0.8


def test_int8_quantization_uses_the_tensor_scale_and_zero_point():
    clf = LiteRTClassifier(es.model_file("int8"))
    scale, zero = clf._in_scale, clf._in_zero
    assert scale > 0
    face = np.zeros((es.SIZE, es.SIZE, 3), np.float32)
    face[0, 0, 0], face[0, 0, 1], face[0, 0, 2] = 1.0, 1e6, -1e6  # in range, clipped high, clipped low
    q = clf._preprocess(face)
    assert q.dtype == np.int8
    assert q[0, 0, 0, 0] == np.clip(round(1.0 / scale + zero), -128, 127)
    assert q[0, 0, 0, 1] == 127 and q[0, 0, 0, 2] == -128
    assert q[0, 1, 1, 0] == zero
    raw = np.array([[zero, zero + 10, -128, 127, 0, 5, -5]], np.int8)
    out_scale, out_zero = clf._out_scale, clf._out_zero
    deq = (raw.astype(np.float32) - out_zero) * out_scale
    expected = deq - deq.max() - np.log(np.exp(deq - deq.max()).sum())
    np.testing.assert_allclose(clf._postprocess(raw), expected, rtol=1e-5, atol=1e-5)


def test_classifier_top_and_bad_shapes():
    clf = LiteRTClassifier(es.model_file("int8"), labels=CLASSES)
    top = clf.top(es.faces(1)[0])
    assert [c.label for c in top[:1]][0] in CLASSES and len(top) == 7
    assert top[0].score >= top[-1].score and abs(sum(c.score for c in top) - 1) < 1e-4
    with pytest.raises(ValueError, match=r"\(64, 64, 3\) does not match"):
        clf(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(ValueError, match="7 classes but 3 labels"):
        LiteRTClassifier(es.model_file("int8"), labels=("a", "b", "c"))
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        LiteRTClassifier("nope.tflite")


def test_model_info_reads_labels_and_preprocess():
    info = ModelInfo.load(es.model_file("int8"))
    assert info.labels == CLASSES and info.variant == "int8" and info.source == "embedded"
    assert info.input_size == es.SIZE and info.output_kind == "log_probabilities"
    info.check_interpreter((es.SIZE, es.SIZE, 3), "int8")
    with pytest.raises(ModelMetadataError, match="do not belong together"):
        info.check_interpreter((64, 64, 3), "int8")


def test_model_without_metadata_is_refused(tmp_path):
    path = es.write_model(tmp_path, "bare.tflite", embed=False)
    with pytest.raises(ModelMetadataError, match="bare.tflite has no usable mer-tf metadata") as err:
        ModelInfo.load(path)
    assert "bare.json" in str(err.value)  # names the sidecar it looked for


def test_sidecar_is_used_when_nothing_is_embedded(tmp_path):
    path = es.write_model(tmp_path, "side.tflite", embed=False, sidecar=True)
    info = ModelInfo.load(path)
    assert info.source.endswith("side.json") and info.labels == CLASSES


def test_sidecar_of_another_model_is_refused(tmp_path):
    path = es.write_model(tmp_path, "swap.tflite", variant="float32", embed=False)
    other = es.write_model(tmp_path, "other.tflite", variant="int8", sidecar=True)
    tm.sidecar_path(path).write_text(tm.sidecar_path(other).read_text())
    with pytest.raises(ModelMetadataError, match="does not describe swap.tflite"):
        ModelInfo.load(path)


def test_truncated_model_with_a_sidecar_blames_the_model(tmp_path):
    path = es.write_model(tmp_path, "cut.tflite", variant="int8", sidecar=True)
    path.write_bytes(path.read_bytes()[:-40])  # the copy to the device stopped early
    with pytest.raises(ModelMetadataError, match=r"cut\.tflite is truncated") as err:
        ModelInfo.load(path)
    assert "does not describe" not in str(err.value)  # the sidecar is fine: it is not blamed


def test_wrong_labels_are_refused_naming_them(tmp_path):
    labels = ["negative", "positive", "surprise", "a", "b", "c", "d"]
    path = es.write_model(tmp_path, "megc.tflite", labels=labels)
    with pytest.raises(ModelMetadataError, match=r"labels \['negative', 'positive'"):
        ModelInfo.load(path)
    swapped = list(CLASSES)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    with pytest.raises(ModelMetadataError, match="not the seven classes in order"):
        ModelInfo.load(es.write_model(tmp_path, "swapped.tflite", labels=swapped))


def test_unsupported_preprocess_is_refused_naming_it(tmp_path):
    path = es.write_model(tmp_path, "pp.tflite", preprocess={"size": es.SIZE, "fisheye": True})
    with pytest.raises(ModelMetadataError, match="fisheye"):
        ModelInfo.load(path)
    path = es.write_model(tmp_path, "pp2.tflite", preprocess={"size": 48})
    with pytest.raises(ModelMetadataError, match="preprocess size 48 does not match the input shape"):
        ModelInfo.load(path)


def test_unknown_schema_version_is_refused(tmp_path):
    data = es.bare("int8")
    meta = tm.read_bytes(tm.embed(data, es.metadata(data, "int8")))
    meta["schema_version"] = 99
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(tm.MEMBER, json.dumps(meta))
    path = tmp_path / "future.tflite"
    path.write_bytes(data + buf.getvalue())
    with pytest.raises(ModelMetadataError, match="version 99"):
        ModelInfo.load(path)
    # the same through a sidecar (read_sidecar does not check the schema: ModelInfo does)
    bare_path = tmp_path / "future2.tflite"
    bare_path.write_bytes(data)
    tm.sidecar_path(bare_path).write_text(json.dumps(meta))
    with pytest.raises(ModelMetadataError, match="version 99 is not supported"):
        ModelInfo.load(bare_path)


def test_cli_refuses_a_bad_model_without_traceback(tmp_path):
    path = es.write_model(tmp_path, "bare.tflite", embed=False)
    result = subprocess.run([sys.executable, "-m", "edge.cli", "run", str(path), "--source", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "bare.tflite has no usable mer-tf metadata" in result.stderr
    assert "Traceback" not in result.stderr


def test_input_mode_defaults_to_apex_for_older_metadata(tmp_path):
    info = ModelInfo.load(es.write_model(tmp_path, "old.tflite", input_mode=None))
    assert "input_mode" not in info.meta and "input_spec" not in info.meta
    assert info.input_mode == "apex" and info.input_spec is None and info.flow_method is None
    assert ModelInfo.load(es.model_file("int8")).input_mode == "apex"


@pytest.mark.parametrize("variant", ["float32", "int8"])
def test_flow_model_info(variant):
    info = ModelInfo.load(es.model_file(variant, "flow"))
    assert info.input_mode == "flow" and info.flow_method == "dis"
    assert info.input_spec["mode"] == "flow" and info.trained_with() == ("blazeface", "mediapipe")
    assert info.input_channels == 3
    info.check_interpreter((es.SIZE, es.SIZE, 3), variant)


def test_unknown_input_mode_is_refused_naming_it(tmp_path):
    path = es.write_model(tmp_path, "mode.tflite", input_mode="depth")
    with pytest.raises(ModelMetadataError, match=r"mode.tflite: input_mode 'depth' is not supported.*'apex', 'flow'"):
        ModelInfo.load(path)
    # the same through the command: one line, exit code 2, no traceback
    result = subprocess.run([sys.executable, "-m", "edge.cli", "run", str(path), "--source", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "input_mode 'depth'" in result.stderr and "Traceback" not in result.stderr


def test_bad_flow_specs_are_refused_naming_them(tmp_path):
    spec = es.input_meta("flow")["input_spec"]
    cases = [
        ({**spec, "flow_method": "raft"}, r"flow method 'raft' is not supported.*'dis', 'tvl1', 'farneback'"),
        ({k: v for k, v in spec.items() if k != "flow_method"}, "must record its flow method"),
        ({**spec, "mode": "apex"}, "input_mode 'flow' disagrees with input_spec mode 'apex'"),
        ({**spec, "preprocess": {**spec["preprocess"], "face_span": 3.0}}, "crop parameters of input_spec"),
        ("dis", "'input_spec' must be a dictionary"),
    ]
    for i, (bad, message) in enumerate(cases):
        path = es.write_model(tmp_path, f"flow{i}.tflite", input_mode="flow", input_spec=bad)
        with pytest.raises(ModelMetadataError, match=message):
            ModelInfo.load(path)
    # a flow model whose metadata has no input_spec at all: its flow method is unknown, never guessed
    data = es.bare("int8", "flow")
    meta = {**es.metadata(data, "int8", input_mode=None), "input_mode": "flow"}
    path = tmp_path / "nospec.tflite"
    path.write_bytes(tm.embed(data, meta))
    with pytest.raises(ModelMetadataError, match="must record its flow method in input_spec.flow_method"):
        ModelInfo.load(path)
