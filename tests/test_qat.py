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
    folder = make_model_folder(tmp_path)
    manifest = export_model(folder, tmp_path / "out", variants="float32", representative=24, check_samples=16,
                            qat=True, prune=0.5, qat_epochs=1, progress=False)
    assert {"qat_int8", "pruned_float32", "pruned_int8"} <= set(manifest["variants"])
    x = np.load(tmp_path / "arrays.npz")["x"][:8]
    for variant in ("qat_int8", "pruned_int8"):
        path = tmp_path / "out" / manifest["variants"][variant]["file"]
        lite = LiteRTModel(path)
        assert lite.input_dtype == np.int8 and lite.output_dtype == np.int8
        assert np.all(np.isfinite(lite(x)))
        meta = tflite_metadata.read(path)
        assert meta["variant"] == variant and meta["quantization"]["mode"] == "int8"
        assert meta["check_forward"]["top1_agreement"] >= 0.75, meta["check_forward"]
    pruned = tflite_metadata.read(tmp_path / "out" / manifest["variants"]["pruned_float32"]["file"])
    assert pruned["quantization"]["measured_sparsity"] == pytest.approx(0.5, abs=0.05)
    assert tflite_metadata.read(tmp_path / "out" / manifest["variants"]["qat_int8"]["file"])["quantization"]["qat"]
