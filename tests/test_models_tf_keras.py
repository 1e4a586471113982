"""The same layer and model source builds on tf_keras (Keras 2), for quantization-aware training.

tf_keras cannot live in .venv (STACK.md); it lives in .venv-qat (`make qat-env`).
The models are built in Keras 3 here, their weights written layer by layer
(`<layer name>/<i>`, as export/ does), rebuilt in .venv-qat with
TF_USE_LEGACY_KERAS=1, and must give the same outputs and train there.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow", reason="the models need TensorFlow (extra [train])")

ROOT = Path(__file__).resolve().parents[1]
QAT_PYTHON = ROOT / ".venv-qat" / "bin" / "python"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not QAT_PYTHON.exists(), reason="needs the tf_keras environment: run `make qat-env`"),
]

LEGACY_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    from mer_tf.layers.backend import LEGACY, keras
    from mer_tf.models import MODEL_NAMES, build_model, nll_loss
    d = sys.argv[1]
    x = np.load(os.path.join(d, "x.npy"))
    result = {"legacy": LEGACY, "keras": keras.__version__}
    for name in MODEL_NAMES:
        model = build_model(name, x.shape[1:], 7)
        with np.load(os.path.join(d, name + ".npz")) as w:
            for layer in model.layers:
                if layer.weights:
                    layer.set_weights([w[f"{layer.name}/{i}"] for i in range(len(layer.weights))])
        np.save(os.path.join(d, name + "_legacy.npy"), model.predict(x, verbose=0))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=nll_loss)
        y = np.arange(len(x)) % 7
        keras.utils.set_random_seed(0)  # dropout and shuffling: the same draw on every run
        before = model.evaluate(x, y, verbose=0)  # inference mode: dropout cannot move these two
        model.fit(x, y, epochs=10, batch_size=len(x), verbose=0)
        result[name] = [before, model.evaluate(x, y, verbose=0)]
    print("RESULT " + json.dumps(result))
    """
)


def test_models_rebuild_on_tf_keras_with_identical_outputs(tmp_path):
    from mer_tf.models import MODEL_NAMES, build_model

    x = np.random.default_rng(0).uniform(-1, 1, size=(6, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = {}
    for name in MODEL_NAMES:
        model = build_model(name, (32, 32, 3), 7)
        if name == "drml":
            model(x, training=True)  # non-trivial moving statistics in the region layer
        weights = {f"{layer.name}/{i}": w for layer in model.layers for i, w in enumerate(layer.get_weights())}
        np.savez(tmp_path / f"{name}.npz", **weights)
        expected[name] = model.predict(x, verbose=0)
    (tmp_path / "legacy.py").write_text(LEGACY_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MER_TF_KERAS", None)
    proc = subprocess.run(
        [str(QAT_PYTHON), str(tmp_path / "legacy.py"), str(tmp_path)], capture_output=True, text=True, env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result["legacy"] is True and result["keras"].startswith("2.")
    for name in MODEL_NAMES:
        legacy = np.load(tmp_path / f"{name}_legacy.npy")
        assert np.abs(legacy - expected[name]).max() < 1e-5, name
        before, after = result[name]  # the inference-mode loss before and after 10 steps of fitting
        assert np.isfinite([before, after]).all() and after < before, (name, before, after)


def test_backend_choice_is_explicit_and_checked():
    code = "import mer_tf.layers.backend as b; print(b.LEGACY, b.keras.__version__)"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "MER_TF_KERAS": "tf_keras"}
    env.pop("TF_USE_LEGACY_KERAS", None)
    out = subprocess.run([str(QAT_PYTHON), "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.split()[0] == "True", out.stderr[-2000:]
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**env, "MER_TF_KERAS": "jax"})
    assert bad.returncode != 0 and "MER_TF_KERAS must be 'keras'" in bad.stderr and "'jax'" in bad.stderr
