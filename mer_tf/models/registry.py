"""`build_model(name, ...)`: one entry point for ECCNN and the Table 3 baselines."""

from __future__ import annotations

import inspect

from mer_tf.models.alexnet import build_alexnet
from mer_tf.models.convnet import build_convnet
from mer_tf.models.drml import build_drml
from mer_tf.models.eccnn import DEFAULT_INPUT_SIZE, build_eccnn
from mer_tf.models.eccnn_options import ECCNNOptions
from mer_tf.models.lcn import build_lcn
from mer_tf.models.ststnet import build_ststnet

BUILDERS = {
    "eccnn": build_eccnn,
    "drml": build_drml,
    "alexnet": build_alexnet,
    "convnet": build_convnet,
    "lcn": build_lcn,
    "ststnet": build_ststnet,
}
MODEL_NAMES = tuple(BUILDERS)


def _allowed_kwargs(name: str) -> list[str]:
    if name == "eccnn":
        return ["options", *ECCNNOptions.field_names()]
    params = inspect.signature(BUILDERS[name]).parameters
    return [p for p in params if p not in ("input_shape", "num_classes", "name")]


def _check(name: str, kwargs: dict) -> None:
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}. Allowed: {', '.join(MODEL_NAMES)}")
    unknown = sorted(set(kwargs) - set(_allowed_kwargs(name)))
    if unknown:
        raise ValueError(f"model {name!r} does not take {unknown}. Allowed: {_allowed_kwargs(name)}")


def build_model(
    name: str,
    input_shape=(DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE, 3),
    num_classes: int = 7,
    **kwargs,
):
    """Build one of "eccnn", "drml", "alexnet", "convnet", "lcn", "ststnet" with the shared LogSoftmax head.

    Args:
        name: the model family; also the model name and layer-name prefix.
        input_shape: (height, width, 3).
        num_classes: number of classes.
        **kwargs: ECCNN: `ECCNNOptions` fields or `options=`; baselines:
            `dropout`. Anything else is a ValueError listing what is allowed.

    Returns:
        A `keras.Model` mapping (None, H, W, 3) float32 to log-probabilities.
    """
    _check(name, kwargs)
    return BUILDERS[name](input_shape=input_shape, num_classes=num_classes, name=name, **kwargs)


def model_config(name: str, input_shape, num_classes: int = 7, **kwargs) -> dict:
    """The resolved, JSON-ready description of a model (the `model` part of config.json).

    ECCNN's options are written out in full (defaults included), so a later
    change of a default does not change what a saved config rebuilds.
    """
    _check(name, kwargs)
    config = {"model": name, "input_shape": [int(d) for d in input_shape], "num_classes": int(num_classes)}
    if name == "eccnn":
        options = kwargs.pop("options", None) or ECCNNOptions()
        config["options"] = options.replace(**kwargs).to_dict()
    else:
        config["options"] = dict(kwargs)
    return config


def build_model_from_config(config: dict):
    """Rebuild the model `model_config` described (weights are loaded separately)."""
    missing = [k for k in ("model", "input_shape", "num_classes") if k not in config]
    if missing:
        raise ValueError(f"model config lacks {missing}; it needs 'model', 'input_shape', 'num_classes', 'options'")
    options = dict(config.get("options") or {})
    return build_model(config["model"], tuple(config["input_shape"]), config["num_classes"], **options)
