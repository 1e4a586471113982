"""Keras -> TFLite export, QAT and the float-vs-quantized report (needs TensorFlow).

Public API (loaded on first use, so `import export` stays light):
- `export_model(model_dir, out_dir, variants=..., representative=100, qat=False, prune=None)`
  -> the manifest dict (also `out_dir/export.json`).
- `compare_exports(export_dir, data=None, max_accuracy_drop=None, min_agreement=None)`
  -> the report dict, with `["paths"]` naming report.md/.json/.png and predictions/*.csv.
- `TFLiteExporter`, `QuantizationConfig`, `LiteRTModel`, `SampleArrays` (the model folder itself is
  `mer_tf.model_folder.ModelFolder`).
- `recompute(report_dir)`: the report's numbers from its per-sample CSVs.
The metadata embedded in each `.tflite` is read with `mer_tf.tflite_metadata.read`.
"""

_NAMES = {
    "export_model": "export.export_model",
    "compare_exports": "export.compare",
    "TFLiteExporter": "export.tflite_exporter",
    "QuantizationConfig": "export.quantization",
    "LiteRTModel": "export.litert_model",
    "SampleArrays": "export.sample_arrays",
    "recompute": "export.comparison_report",
}


def __getattr__(name):
    if name in _NAMES:
        import importlib

        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'export' has no attribute {name!r}")


__all__ = list(_NAMES)
