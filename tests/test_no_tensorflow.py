"""The device runtime and the mer_tf core import with TensorFlow made unimportable."""

import subprocess
import sys
import textwrap

import pytest

CORE_MODULES = [
    "mer_tf",
    "mer_tf.labels",
    "mer_tf.cli",
    "mer_tf.faces",
    "mer_tf.ecrl",
    "mer_tf.datasets",
    "mer_tf.preprocess",
    "mer_tf.fusion",
    "mer_tf.metrics",
    "mer_tf.paired",
    "mer_tf.epoch_trace",
    "mer_tf.model_folder",
    "edge",
    "edge.cli",
]


def _optional(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("module", [m for m in CORE_MODULES if _optional(m)])
def test_imports_without_tensorflow(module):
    code = textwrap.dedent(
        f"""
        import sys
        for name in ("tensorflow", "keras", "tf_keras"):
            sys.modules[name] = None  # any import of them now raises ImportError
        import {module}
        import importlib, pkgutil
        pkg = sys.modules["{module}"]
        # import every submodule of a package too, except the TensorFlow ones
        tf_parts = {{"mer_tf.layers", "mer_tf.models", "mer_tf.data", "mer_tf.training"}}
        if hasattr(pkg, "__path__"):
            for info in pkgutil.walk_packages(pkg.__path__, prefix="{module}."):
                if any(info.name == p or info.name.startswith(p + ".") for p in tf_parts):
                    continue
                if info.name.startswith("mer_tf.commands"):
                    continue  # commands import their heavy modules inside run()
                importlib.import_module(info.name)
        loaded = [m for m in ("tensorflow", "keras") if sys.modules.get(m) is not None]
        assert not loaded, loaded
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_mer_help_needs_no_tensorflow():
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None\n"
        "sys.modules['keras'] = None\n"
        "from mer_tf.cli import build_parser\n"
        "build_parser().format_help()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
