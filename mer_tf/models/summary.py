"""ModelSummary: layers, parameters and multiply-accumulates (MACs) of a model."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mer_tf.layers import LocallyConnected2D, LocalRegionLayer
from mer_tf.layers.backend import keras


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int


def layer_macs(layer, input_shape, output_shape) -> int:
    """Multiply-accumulates of one forward pass of `layer` for one sample.

    Counted: Conv2D, DepthwiseConv2D, Dense, the region convolutions of
    LocalRegionLayer / DRMLRegionLayer, LocallyConnected2D. Pooling, adds,
    activations and normalization are not MACs and count 0 (they are a few
    percent of the total in these models).
    """
    if isinstance(layer, LocalRegionLayer):
        (kh, kw), channels = layer.kernel_size, input_shape[-1]
        return sum(
            (h1 - h0) * (w1 - w0) * kh * kw * channels * channels
            for h0, h1 in layer.row_bounds
            for w0, w1 in layer.col_bounds
        )
    if isinstance(layer, LocallyConnected2D):
        (kh, kw), (_, oh, ow, filters) = layer.kernel_size, output_shape
        return oh * ow * kh * kw * input_shape[-1] * filters
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return math.prod(output_shape[1:]) * kh * kw
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        groups = getattr(layer, "groups", 1)
        return math.prod(output_shape[1:]) * kh * kw * (input_shape[-1] // groups)
    if isinstance(layer, keras.layers.Dense):
        return math.prod(input_shape[1:]) * layer.units
    return 0


@dataclass(frozen=True)
class ModelSummary:
    """What `mer model summary` prints: one row per layer, and totals.

    Args:
        model_name: the Keras model's name.
        input_shape: (height, width, channels).
        rows: one `LayerRow` per layer (input layer excluded).
    """

    model_name: str
    input_shape: tuple
    rows: tuple

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @classmethod
    def of(cls, model) -> ModelSummary:
        """Summarize a built functional model (batch size 1 for MACs)."""
        rows = []
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
            in_shape = tuple(inputs[0].shape)  # a merge layer (Concatenate, Add) counts no MACs
            out_shape = tuple(layer.output.shape)
            rows.append(
                LayerRow(layer.name, type(layer).__name__, out_shape[1:], layer.count_params(),
                         layer_macs(layer, in_shape, out_shape))
            )
        return cls(model.name, tuple(model.input_shape[1:]), tuple(rows))

    def to_dict(self) -> dict:
        return {
            "model": self.model_name,
            "input_shape": list(self.input_shape),
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "layers": [
                {"name": r.name, "type": r.kind, "output_shape": list(r.output_shape), "params": r.params,
                 "macs": r.macs}
                for r in self.rows
            ],
        }

    def format_table(self) -> str:
        header = ("layer", "type", "output shape", "params", "MACs")
        lines = [(r.name, r.kind, "x".join(str(d) for d in r.output_shape), f"{r.params:,}", f"{r.macs:,}")
                 for r in self.rows]
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(5)]
        fmt = "  ".join(f"{{:{'>' if i >= 3 else '<'}{w}}}" for i, w in enumerate(widths))
        rule = "-" * (sum(widths) + 8)
        out = [f"{self.model_name}: input {'x'.join(str(d) for d in self.input_shape)}", rule, fmt.format(*header), rule]
        out += [fmt.format(*row) for row in lines]
        out += [rule, f"parameters: {self.total_params:,}",
                f"multiply-accumulates: {self.total_macs:,} ({self.total_macs / 1e6:.2f} M per image)"]
        return "\n".join(out)


def summarize(model_name: str = "eccnn", input_size: int = 64, num_classes: int = 7, **kwargs) -> ModelSummary:
    """Build `model_name` for a square `input_size` input and summarize it (`mer model summary`).

    Args:
        model_name: "eccnn", "drml", "alexnet", "convnet", "lcn" or "ststnet".
        input_size: input side in pixels.
        num_classes: number of classes.
        **kwargs: passed to `build_model` (e.g. `pooling_layers`, `local_region`).
    """
    from mer_tf.models.registry import build_model

    model = build_model(model_name, (input_size, input_size, 3), num_classes, **kwargs)
    return ModelSummary.of(model)
