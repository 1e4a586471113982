"""Custom Keras layers of mer-tf (TensorFlow side; `import mer_tf` does not load them).

All of them are written against `mer_tf.layers.backend`, so the same source
builds on Keras 3 and, for quantization-aware training, on tf_keras.
"""

from mer_tf.layers.backend import LEGACY, keras
from mer_tf.layers.drml_region_layer import DRMLRegionLayer
from mer_tf.layers.local_region_layer import LocalRegionLayer, region_bounds
from mer_tf.layers.locally_connected_2d import LocallyConnected2D
from mer_tf.layers.log_softmax import LogSoftmax
from mer_tf.layers.mirror import Mirror

__all__ = [
    "LEGACY",
    "DRMLRegionLayer",
    "LocalRegionLayer",
    "LocallyConnected2D",
    "LogSoftmax",
    "Mirror",
    "keras",
    "region_bounds",
]
