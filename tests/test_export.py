"""`export_model`: every variant converts, runs in LiteRT, carries metadata; int8 ends are quantized right."""

import json

import numpy as np
import pytest

from export.export_model import export_model, parse_variants
from export.litert_model import LiteRTModel
from export.quantization import QuantizationConfig
from mer_tf import tflite_metadata
from mer_tf.labels import CLASSES
from test_export_support import TEST_SUBJECTS, make_model_folder

VARIANTS = ("float32", "float16", "dynamic", "int8")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    folder = make_model_folder(root)
    manifest = export_model(folder, root / "out", representative=24, check_samples=16, progress=False)
    return root, folder, manifest


def test_manifest_lists_every_variant(exported):
    root, _, manifest = exported
    assert sorted(manifest["variants"]) == sorted(VARIANTS)
    on_disk = json.loads((root / "out" / "export.json").read_text())
    assert on_disk["variants"].keys() == manifest["variants"].keys()
    for name in ("labels.json", "preprocess.json", "config.json"):
        assert (root / "out" / name).is_file()
    assert not [p for p in root.iterdir() if p.name.startswith(".out.")]  # no temp folder left


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_runs_in_litert_with_named_signature(exported, variant):
    root, _, manifest = exported
    path = root / "out" / manifest["variants"][variant]["file"]
    lite = LiteRTModel(path)
    assert lite.signature == "classify" and lite.input_name == "image" and lite.output_name == "log_probs"
    assert not [op for op in lite.op_names() if op.startswith("Flex") or op == "CUSTOM"]
    meta = tflite_metadata.read(path)
    assert meta["variant"] == variant and meta["labels"] == list(CLASSES)
    assert meta["preprocess"]["size"] == 32 and meta["input_mode"] == "apex"
    assert tflite_metadata.read_sidecar(path) == meta
    x = np.load(root / "arrays.npz")["x"][:5]
    out = lite(x)
    assert out.shape == (5, len(CLASSES)) and np.all(np.isfinite(out))


def test_float_variants_match_keras(exported):
    _, _, manifest = exported
    assert manifest["variants"]["float32"]["check_forward"]["max_abs_diff"] < 1e-4
    assert manifest["variants"]["float16"]["check_forward"]["max_abs_diff"] < 0.05
    for variant in VARIANTS:
        assert manifest["variants"][variant]["check_forward"]["top1_agreement"] >= 0.9


def test_int8_ends_quantized_with_scale_and_zero_point(exported):
    root, folder, manifest = exported
    path = root / "out" / manifest["variants"]["int8"]["file"]
    lite = LiteRTModel(path)
    assert lite.input_dtype == np.int8 and lite.output_dtype == np.int8
    meta = tflite_metadata.read(path)
    in_scale, in_zero = lite.input_quantization
    assert (meta["input"]["scale"], meta["input"]["zero_point"]) == (in_scale, in_zero)
    # The toy inputs span [0, 1]: calibration must give ~1/255 per step, 0.0 at -128.
    assert in_scale == pytest.approx(1 / 255, rel=0.05) and in_zero == -128
    # int8 LOG_SOFTMAX has a fixed output grid: 16/256 per step, 0.0 at 127.
    assert meta["output"]["scale"] == pytest.approx(16 / 256) and meta["output"]["zero_point"] == 127
    # By hand, through the raw interpreter: quantize in, dequantize out.
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    run = interp.get_signature_runner("classify")
    x = np.load(root / "arrays.npz")["x"][:6]
    q = np.clip(np.round(x / in_scale + in_zero), -128, 127).astype(np.int8)
    raw = np.concatenate([run(image=q[i : i + 1])["log_probs"] for i in range(len(q))])
    assert raw.dtype == np.int8
    by_hand = (raw.astype(np.float32) - meta["output"]["zero_point"]) * meta["output"]["scale"]
    np.testing.assert_allclose(lite(x), by_hand)
    np.testing.assert_allclose(tflite_metadata.dequantize(raw, meta["output"]), by_hand)
    np.testing.assert_array_equal(tflite_metadata.quantize(x, meta["input"]), q)
    assert np.all(by_hand <= 0.0)  # log-probabilities


def test_representative_set_comes_from_training_subjects(exported):
    root, _, manifest = exported
    source = manifest["representative"]["source"]
    assert "training subjects" in source and not any(s in source for s in TEST_SUBJECTS)
    assert "s03" not in source  # the validation subject stays out of calibration too
    meta = tflite_metadata.read(root / "out" / manifest["variants"]["int8"]["file"])
    assert meta["quantization"]["representative_samples"] == 24


def test_export_is_atomic_and_replaces(exported, tmp_path):
    root, folder, _ = exported
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    # A folder mer-tf did not write is refused before any work, and left alone.
    with pytest.raises(ValueError, match=r"out holds files mer-tf did not write; pass --overwrite"):
        export_model(folder, out, variants="float32", check_samples=0, progress=False)
    with pytest.raises(ValueError, match="--variants"):
        export_model(folder, out, variants="float32,int4", progress=False, overwrite=True)
    assert (out / "stale.txt").read_text() == "old"  # a failed export leaves the old folder alone
    export_model(folder, out, variants="float32", check_samples=0, progress=False, overwrite=True)
    assert not (out / "stale.txt").exists() and (out / "eccnn_float32.tflite").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # An earlier export is replaced without asking.
    export_model(folder, out, variants="float16", check_samples=0, progress=False)
    assert (out / "eccnn_float16.tflite").is_file() and not (out / "eccnn_float32.tflite").exists()
    # The model folder itself, a folder inside it, or one holding it: refused, even with --overwrite.
    for bad in (folder, folder / "export", folder.parent):
        with pytest.raises(ValueError, match="model folder"):
            export_model(folder, bad, variants="float32", check_samples=0, progress=False, overwrite=True)
    assert (folder / "model.keras").is_file()


def test_bad_arguments(tmp_path, exported):
    _, folder, _ = exported
    with pytest.raises(FileNotFoundError, match="model folder not found"):
        export_model(tmp_path / "nope", tmp_path / "o", progress=False)
    with pytest.raises(FileNotFoundError, match="make qat-env"):
        export_model(folder, tmp_path / "o", qat=True, qat_python=tmp_path / "no-python", progress=False)
    with pytest.raises(ValueError, match="--prune"):
        export_model(folder, tmp_path / "o", prune=1.5, progress=False)
    assert parse_variants("int8, float32,int8") == ["int8", "float32"]


def test_quantization_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="representative data"):
        QuantizationConfig("int8")
    with pytest.raises(ValueError, match="mode"):
        QuantizationConfig("int4")
    with pytest.raises(ValueError, match="NaN"):
        QuantizationConfig.for_int8(np.full((2, 4, 4, 3), np.nan, np.float32))
    config = QuantizationConfig.for_int8(np.zeros((3, 4, 4, 3), np.float32))
    assert config.describe() == {"mode": "int8", "representative_samples": 3, "io_int8": True}
    assert [b[0].shape for b in config.representative_dataset()()] == [(1, 4, 4, 3)] * 3


def test_export_bundle_flag_writes_a_device_bundle(exported, tmp_path, capsys):
    from edge.bundle import open_bundle
    from mer_tf.cli import main

    _, folder, _ = exported
    out = tmp_path / "out"
    assert main(["export", str(folder), str(out), "--variants", "int8", "--representative", "8",
                 "--check-samples", "0", "--bundle"]) == 0
    assert "eccnn_int8_bundle.tar.gz" in capsys.readouterr().out
    with open_bundle(out / "eccnn_int8_bundle.tar.gz") as b:
        assert b.model.name == "eccnn_int8.tflite" and b.meta["model_info"]["variant"] == "int8"
    assert main(["export", str(folder), str(tmp_path / "o2"), "--variants", "float32", "--bundle"]) == 2
    assert "--bundle int8: that variant is not exported" in capsys.readouterr().err


def test_a_flip_averaged_model_exports_whole_and_every_variant_ignores_the_mirror(tmp_path):
    """`flip_average: true`: the mirror and the average are in the flatbuffer; LiteRT gives x and its mirror one verdict."""
    folder = make_model_folder(tmp_path, steps=24, flip=True)
    manifest = export_model(folder, tmp_path / "out", variants="float32,int8", representative=16, check_samples=16,
                            progress=False)
    x = np.load(tmp_path / "arrays.npz")["x"][:8]
    for variant in ("float32", "int8"):
        path = tmp_path / "out" / manifest["variants"][variant]["file"]
        meta = tflite_metadata.read(path)
        assert meta["flip_average"] is True and meta["input_mode"] == "apex"
        lite = LiteRTModel(path)
        assert "REVERSE_V2" in lite.op_names()
        direct, mirrored = lite(x), lite(x[:, :, ::-1])
        if variant == "float32":
            np.testing.assert_allclose(direct, mirrored, atol=1e-4)
            assert manifest["variants"][variant]["check_forward"]["max_abs_diff"] < 1e-4
        else:
            assert (direct.argmax(1) == mirrored.argmax(1)).mean() >= 0.75
            assert manifest["variants"][variant]["check_forward"]["top1_agreement"] >= 0.75
