"""The synthetic micro-expression set: real photos, FACS action units at micro amplitudes.

Example:
    >>> from mer_tf.datasets.synthetic import generate, detection_rate
    >>> generate("datasets/synthetic", subjects=12, clips_per_class=2, frames=12, seed=0)
    >>> detection_rate("datasets/synthetic").rate
"""

from mer_tf.datasets.synthetic.detection_rate import DetectionRate, detection_rate
from mer_tf.datasets.synthetic.generator import SynthConfig, generate

__all__ = ["DetectionRate", "SynthConfig", "detection_rate", "generate"]
