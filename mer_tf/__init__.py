"""mer-tf: micro-expression recognition after He & Kao (ECCNN + ECRL).

`import mer_tf` never imports TensorFlow: the core (labels, faces, preprocess,
ecrl, fusion, metrics, datasets) runs on the device too. The TensorFlow parts
(`mer_tf.layers`, `mer_tf.models`, `mer_tf.data`, `mer_tf.training`) are
imported explicitly by whoever needs them.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
