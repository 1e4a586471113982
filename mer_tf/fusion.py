"""Fusion (paper stage 6, Fig. 6) and the Pipeline that joins every stage.

``FusionPolicy`` is the decision table; ``Pipeline`` runs detection,
landmarks, preprocessing, any classifier, ECRL and the policy on frames. Both
live in their own modules (one public class per file); this module is the
name the rest of the project imports them by.
"""

from mer_tf.fusion_policy import (
    ACTIONS,
    CNN_STANDS,
    CONFIRMED,
    ECRL_CHOSEN,
    ECRL_WINS,
    KEPT,
    NO_VERDICT,
    PAPER_TABLE,
    REASONS,
    FusionPolicy,
)
from mer_tf.pipeline import FaceResult, Pipeline, log_probs_to_probs

__all__ = [
    "ACTIONS",
    "CNN_STANDS",
    "CONFIRMED",
    "ECRL_CHOSEN",
    "ECRL_WINS",
    "KEPT",
    "NO_VERDICT",
    "PAPER_TABLE",
    "REASONS",
    "FaceResult",
    "FusionPolicy",
    "Pipeline",
    "log_probs_to_probs",
]
