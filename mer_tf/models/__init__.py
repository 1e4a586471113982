"""ECCNN, the Table 3 baselines, the STSTNet peer, the NLL loss (TensorFlow side; `import mer_tf` does not load this)."""

from mer_tf.models.alexnet import build_alexnet
from mer_tf.models.convnet import build_convnet
from mer_tf.models.drml import build_drml
from mer_tf.models.eccnn import DEFAULT_INPUT_SIZE, build_eccnn
from mer_tf.models.eccnn_options import ECCNNOptions
from mer_tf.models.flip_average import flip_average
from mer_tf.models.lcn import build_lcn
from mer_tf.models.losses import nll_loss
from mer_tf.models.ststnet import build_ststnet
from mer_tf.models.registry import MODEL_NAMES, build_model, build_model_from_config, model_config

__all__ = [
    "DEFAULT_INPUT_SIZE",
    "ECCNNOptions",
    "MODEL_NAMES",
    "build_alexnet",
    "build_convnet",
    "build_drml",
    "build_eccnn",
    "build_lcn",
    "build_ststnet",
    "build_model",
    "build_model_from_config",
    "flip_average",
    "model_config",
    "nll_loss",
]
