"""Input pipelines (TensorFlow): per-sample features cached once, then tf.data.

`FeatureStore` and `InputSpec` need no TensorFlow; `make_dataset`,
`arrays_dataset` and `Augmentation` import it on first use.
"""

from mer_tf.data.feature_store import FeatureStore, SampleFeatures, default_cache_dir
from mer_tf.data.input_spec import INPUT_MODES, LANDMARK_SOURCES, InputSpec

_TF_NAMES = ("Augmentation", "SoftTargets", "make_dataset", "arrays_dataset", "class_weights")


def __getattr__(name):
    # tf.data lives in tf_dataset.py; load it only when asked, so a Ray driver or a
    # cache-only job does not pay for importing TensorFlow.
    if name in _TF_NAMES:
        from mer_tf.data import tf_dataset

        return getattr(tf_dataset, name)
    raise AttributeError(f"module 'mer_tf.data' has no attribute {name!r}")


__all__ = [
    "FeatureStore",
    "SampleFeatures",
    "default_cache_dir",
    "InputSpec",
    "INPUT_MODES",
    "LANDMARK_SOURCES",
    *_TF_NAMES,
]
