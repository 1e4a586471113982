"""Runs inside `.venv-qat` (tf_keras + tensorflow-model-optimization): QAT and pruning.

Called by `export.qat.run_qat` as `python -m export.qat_worker SPEC.json`. It
rebuilds the model with the same builders as training (on tf_keras, through
`mer_tf.layers.backend`), loads the trained weights layer by layer, fine-tunes
a quantization-aware and/or pruned copy on the training arrays, and writes the
bare converted flatbuffers; the main environment embeds the metadata and
checks them in LiteRT (LiteRT is not installed here).

SPEC.json: {"model_config", "weights", "train", "calib", "out_dir", "tasks":
["qat", "prune"], "sparsity", "epochs", "batch_size", "learning_rate", "seed"}.
Prints one JSON line `{"outputs": {variant: path}, "info": {...}}` on stdout.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before TensorFlow/tfmot/mer_tf.layers are imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _load_weights(model, path: str) -> None:
    """Set each layer's weights from `path` (npz keys `<layer name>/<i>`), checking shapes."""
    with np.load(path) as z:
        by_layer: dict[str, list] = {}
        for key in z.files:
            name, i = key.rsplit("/", 1)
            by_layer.setdefault(name, []).append((int(i), z[key]))
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in by_layer:
            raise ValueError(f"trained weights have no layer {layer.name!r}; the architectures differ")
        layer.set_weights([w for _, w in sorted(by_layer.pop(layer.name), key=lambda t: t[0])])
    if by_layer:
        raise ValueError(f"trained weights of layers {sorted(by_layer)} have no place in the rebuilt model")


def _region_kernels(layer) -> list:
    """The LocalRegionLayer's kernel variable(s): one stacked variable, or one per region sublayer."""
    if getattr(layer, "region_layers", None):
        return [r.kernel for r in layer.region_layers]
    return [layer.kernel]


def _quantize_config_classes(tfmot):
    qk = tfmot.quantization.keras

    class RegionQuantizeConfig(qk.QuantizeConfig):
        """LocalRegionLayer: 8-bit per-tensor region kernels, an 8-bit output after the residual add."""

        def get_weights_and_quantizers(self, layer):
            q = qk.quantizers.LastValueQuantizer(num_bits=8, per_axis=False, symmetric=True, narrow_range=False)
            return [(k, q) for k in _region_kernels(layer)]

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            if getattr(layer, "region_layers", None):  # one Conv2D per region
                for r, w in zip(layer.region_layers, quantize_weights):
                    r.kernel = w
            else:  # one (regions, kh, kw, C, C) kernel variable
                layer.kernel = quantize_weights[0]

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [qk.quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

        def get_config(self):
            return {}

    class NoOpQuantizeConfig(qk.QuantizeConfig):
        """LogSoftmax: nothing to fake-quantize (int8 LOG_SOFTMAX has a fixed output scale)."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    return RegionQuantizeConfig, NoOpQuantizeConfig


def _init_ranges(qat_model, base, x: np.ndarray) -> int:
    """Start every activation range of the QAT copy at the float model's observed min/max.

    tfmot starts them at [-6, 6] and moves them by an exponential moving average
    (decay 0.999), so a short fine-tune of an already trained model would keep
    clipping (log-probabilities and logits here reach -50 and 30). Returns the
    number of ranges set.
    """
    from mer_tf.layers.backend import keras

    set_count = 0
    for layer in qat_model.layers:
        if layer.name == "quantize_layer":
            lo, hi = float(x.min()), float(x.max())
        elif layer.name.startswith("quant_") and base.get_layer(layer.name[len("quant_"):]) is not None:
            probe = keras.Model(base.inputs, base.get_layer(layer.name[len("quant_"):]).output)
            out = probe.predict(x, verbose=0)
            lo, hi = float(out.min()), float(out.max())
        else:
            continue
        for var in layer.weights:
            short = var.name.split("/")[-1].split(":")[0]
            if short.startswith("kernel_") or not short.endswith(("_min", "_max")):
                continue  # weight ranges are recomputed from the weights at every step
            var.assign(min(lo, 0.0) if short.endswith("_min") else max(hi, 0.0))
            set_count += 1
    return set_count


def _fit(model, spec, train, callbacks=()):
    from mer_tf.layers.backend import keras
    from mer_tf.models import nll_loss

    model.compile(optimizer=keras.optimizers.Adam(spec.get("learning_rate", 1e-4)), loss=nll_loss)
    model.fit(train["x"], train["y"], epochs=int(spec.get("epochs", 2)), batch_size=int(spec.get("batch_size", 16)),
              shuffle=True, verbose=0, callbacks=list(callbacks))


def quantization_aware(base, spec, train):
    import tensorflow_model_optimization as tfmot

    from mer_tf.layers import LocalRegionLayer, LogSoftmax
    from mer_tf.layers.backend import keras

    qk = tfmot.quantization.keras
    Region, NoOp = _quantize_config_classes(tfmot)

    def annotate(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        if isinstance(layer, LocalRegionLayer):
            return qk.quantize_annotate_layer(layer.__class__.from_config(layer.get_config()), Region())
        if isinstance(layer, LogSoftmax):
            return qk.quantize_annotate_layer(layer.__class__.from_config(layer.get_config()), NoOp())
        return qk.quantize_annotate_layer(layer.__class__.from_config(layer.get_config()))

    annotated = keras.models.clone_model(base, clone_function=annotate)
    annotated.set_weights(base.get_weights())  # clone_model makes fresh weights
    x = train["x"][:8]
    drift = float(np.abs(annotated.predict(x, verbose=0) - base.predict(x, verbose=0)).max())
    if drift > 1e-4:
        raise RuntimeError(f"annotated copy differs from the trained model by {drift}; weights were not carried over")
    scope = {"RegionQuantizeConfig": Region, "NoOpQuantizeConfig": NoOp,
             "LocalRegionLayer": LocalRegionLayer, "LogSoftmax": LogSoftmax}
    with qk.quantize_scope(scope):
        model = qk.quantize_apply(annotated)
    _init_ranges(model, base, train["x"][:256])
    _fit(model, spec, train)
    return model, scope


def pruned(base, spec, train):
    import tensorflow_model_optimization as tfmot

    from mer_tf.layers import LocalRegionLayer
    from mer_tf.layers.backend import keras

    sk = tfmot.sparsity.keras

    class PrunableLocalRegionLayer(LocalRegionLayer, sk.PrunableLayer):
        """LocalRegionLayer whose region kernels magnitude pruning may zero."""

        def get_prunable_weights(self):
            return _region_kernels(self)

    steps = max(1, int(np.ceil(len(train["x"]) / int(spec.get("batch_size", 16)))))
    schedule = sk.ConstantSparsity(float(spec["sparsity"]), begin_step=0, frequency=max(1, steps // 2))

    def wrap(layer):
        if isinstance(layer, LocalRegionLayer):
            return sk.prune_low_magnitude(PrunableLocalRegionLayer.from_config(layer.get_config()), pruning_schedule=schedule)
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            return sk.prune_low_magnitude(layer.__class__.from_config(layer.get_config()), pruning_schedule=schedule)
        return layer.__class__.from_config(layer.get_config())

    wrapped = keras.models.clone_model(base, clone_function=wrap)
    for new, old in zip(wrapped.layers, base.layers):
        inner = getattr(new, "layer", new)
        if old.weights:
            inner.set_weights(old.get_weights())
    _fit(wrapped, spec, train, callbacks=[sk.UpdatePruningStep()])
    model = sk.strip_pruning(wrapped)
    kernels = [w.numpy() for w in model.weights if "kernel" in w.name]
    sparsity = float(sum((k == 0).sum() for k in kernels) / sum(k.size for k in kernels))
    return model, sparsity


def main(spec_path: str) -> int:
    import tensorflow as tf

    from export.quantization import QuantizationConfig
    from export.tflite_exporter import TFLiteExporter
    from mer_tf.layers.backend import LEGACY, keras
    from mer_tf.models import build_model_from_config, flip_average

    if not LEGACY:
        raise RuntimeError("the QAT worker must run on tf_keras (TF_USE_LEGACY_KERAS=1)")
    spec = json.loads(open(spec_path).read())
    keras.utils.set_random_seed(int(spec.get("seed", 0)))
    tf.config.threading.set_intra_op_parallelism_threads(int(spec.get("threads", 1)))
    with np.load(spec["train"]) as z:
        train = {"x": z["x"].astype(np.float32), "y": z["y"].astype(np.int64)}
    with np.load(spec["calib"]) as z:
        calib = z["x"].astype(np.float32)
    base = build_model_from_config(spec["model_config"])
    _load_weights(base, spec["weights"])
    meta = {"labels": ["_"], "preprocess": {}}  # the main environment embeds the real metadata
    outputs, info = {}, {"tf_keras": keras.__version__, "tensorflow": tf.__version__}
    name = spec["model_config"]["model"]
    mode = spec.get("flip_average")  # the trained model averaged over mirror images: so do the exports
    if "qat" in spec["tasks"]:
        model, scope = quantization_aware(base, spec, train)
        import tensorflow_model_optimization as tfmot

        with tfmot.quantization.keras.quantize_scope(scope):
            exporter = TFLiteExporter(flip_average(model, mode) if mode else model, meta)
            path = os.path.join(spec["out_dir"], f"{name}_qat_int8.tflite.bare")
            open(path, "wb").write(exporter.convert(QuantizationConfig.for_int8(calib)))
            exporter.close()
        outputs["qat_int8"] = path
    if "prune" in spec["tasks"]:
        model, sparsity = pruned(base, spec, train)
        info["measured_sparsity"] = sparsity
        exporter = TFLiteExporter(flip_average(model, mode) if mode else model, meta)
        for variant, config in (("pruned_float32", QuantizationConfig.for_float32()),
                                ("pruned_int8", QuantizationConfig.for_int8(calib))):
            path = os.path.join(spec["out_dir"], f"{name}_{variant}.tflite.bare")
            open(path, "wb").write(exporter.convert(config))
            outputs[variant] = path
        exporter.close()
    print(json.dumps({"outputs": outputs, "info": info}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
