"""ModelFolder: one reader/writer of the model folder; its JSON part loads without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from mer_tf.ecrl import ECRL
from mer_tf.labels import CLASSES
from mer_tf.model_folder import REQUIRED_FILES, ModelFolder
from mer_tf.training.config import TrainConfig


def _folder(root, model=False):
    """A model folder's JSON files as `mer train` writes them (model.keras only when asked)."""
    root.mkdir(parents=True, exist_ok=True)
    config = TrainConfig(input="flow", classes="seven")
    resolved = {**config.to_dict(), "run": {"train_subjects": ["sub02", "sub01"], "val_subjects": ["sub03"]}}
    spec = config.input_spec()
    (root / "config.json").write_text(json.dumps(resolved))
    (root / "labels.json").write_text(json.dumps({"classes": list(CLASSES), "scheme": "seven"}))
    spec.params().save(root / "preprocess.json")
    (root / "input.json").write_text(json.dumps(spec.to_dict()))
    ECRL({"AU12": 0.05}).save(root / "ecrl.json")
    if model:
        (root / "model.keras").write_bytes(b"")
    return root, config, spec


def test_the_json_part_loads_without_tensorflow(tmp_path):
    root, config, spec = _folder(tmp_path / "model")
    code = textwrap.dedent(
        f"""
        import sys
        for name in ("tensorflow", "keras", "tf_keras"):
            sys.modules[name] = None  # any import of them now raises ImportError
        from mer_tf.model_folder import ModelFolder
        f = ModelFolder.load({str(root)!r}, require_model=False)
        assert f.classes[0] == "Neutral" and f.scheme == "seven" and f.model_name == "eccnn"
        assert f.train_config().input == "flow" and "run" not in f.train_config().to_dict()
        assert f.input_spec().mode == "flow"
        assert f.preprocess_params().size == f.input_spec().params().size
        assert f.ecrl().thresholds["AU12"] == 0.05
        assert f.input_metadata()["input_mode"] == "flow"
        assert f.subjects("train") == ["sub01", "sub02"] and f.subjects("val") == ["sub03"]
        assert f.subjects("test") is None
        try:
            f.keras_model()
        except ImportError:
            pass
        else:
            raise AssertionError("keras_model() must need Keras")
        loaded = [m for m in ("tensorflow", "keras") if sys.modules.get(m) is not None]
        assert not loaded, loaded
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_model_folder_needs_its_model_and_json(tmp_path):
    root, _, _ = _folder(tmp_path / "model")
    with pytest.raises(FileNotFoundError, match=r"missing \['model.keras'\].*mer train --out"):
        ModelFolder.load(root)
    assert ModelFolder.load(root, require_model=False).classes[-1] == "Sad"
    (root / "labels.json").unlink()
    with pytest.raises(FileNotFoundError, match="labels.json"):
        ModelFolder.load(root, require_model=False)
    with pytest.raises(FileNotFoundError, match="model folder not found"):
        ModelFolder.load(tmp_path / "nowhere")
    assert REQUIRED_FILES[0] == "model.keras"


def test_bad_json_and_roles_are_clear_errors(tmp_path):
    root, _, _ = _folder(tmp_path / "model", model=True)
    folder = ModelFolder.load(root)
    with pytest.raises(ValueError, match="role"):
        folder.subjects("holdout")
    (root / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON.*re-run `mer train`"):
        ModelFolder.load(root)
    (root / "ecrl.json").unlink()
    assert folder.ecrl() is None
