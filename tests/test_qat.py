"""QAT and pruning in the separate .venv-qat environment (slow: fine-tunes and converts in a subprocess)."""

import numpy as np
import pytest

from export.export_model import export_model
from export.litert_model import LiteRTModel
from export.qat import qat_python_path
from mer_tf import tflite_metadata
from test_export_support import make_model_folder


def _qat_env_present() -> bool:
    try:
        qat_python_path()
        return True
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _qat_env_present(), reason="needs the QAT environment: run `make qat-env`")
def test_qat_and_pruning_export_int8_models_that_run(tmp_path):
    import keras

    keras.utils.set_random_seed(0)  # the tiny model's initial weights: the same on every run, whatever ran before
    folder = make_model_folder(tmp_path)
    manifest = export_model(folder, tmp_path / "out", variants="float32", representative=24, check_samples=16,
                            qat=True, prune=0.5, qat_epochs=1, progress=False)
    assert {"qat_int8", "pruned_float32", "pruned_int8"} <= set(manifest["variants"])
    x = np.load(tmp_path / "arrays.npz")["x"]
    files = {v: tmp_path / "out" / manifest["variants"][v]["file"] for v in ("qat_int8", "pruned_float32", "pruned_int8")}
    for variant in ("qat_int8", "pruned_int8"):
        lite = LiteRTModel(files[variant])
        assert lite.input_dtype == np.int8 and lite.output_dtype == np.int8
        assert np.all(np.isfinite(lite(x[:8])))
        meta = tflite_metadata.read(files[variant])
        assert meta["variant"] == variant and meta["quantization"]["mode"] == "int8"
    # QAT fine-tunes a copy of the trained weights at a small rate: its int8 model keeps the float model's verdicts
    qat_check = tflite_metadata.read(files["qat_int8"])["check_forward"]
    assert qat_check["top1_agreement"] >= 0.75, qat_check
    # Pruning half of the weights changes a model this small by itself (its float32 agrees with the unpruned
    # model on 69-100 % of the check samples, seed by seed), so pruned int8 is held to the pruned float32 it
    # quantizes: the int8 conversion must keep that model's verdicts.
    pruned_f32, pruned_i8 = LiteRTModel(files["pruned_float32"])(x), LiteRTModel(files["pruned_int8"])(x)
    assert np.mean(pruned_f32.argmax(1) == pruned_i8.argmax(1)) >= 0.9
    pruned = tflite_metadata.read(files["pruned_float32"])
    assert pruned["quantization"]["measured_sparsity"] == pytest.approx(0.5, abs=0.05)
    assert tflite_metadata.read(files["qat_int8"])["quantization"]["qat"]
