"""ECRL, the Emotion Classification Rule Library (paper section 2.5): NumPy only.

Features of a face's 68 landmarks against the same person's neutral face
(``extract_features``), EMFACS rules on action-unit evidence (``RULES``,
``rules_table_markdown``), calibrated thresholds (``ECRL.calibrate``, saved as
``ecrl.json``) and verdicts that name the rule and the numbers behind it.
"""

from mer_tf.ecrl.ecrl import ECRL
from mer_tf.ecrl.features import FEATURE_NAMES, NeutralReference, extract_features
from mer_tf.ecrl.neutral_baseline import NeutralBaseline
from mer_tf.ecrl.rules import EVIDENCE, RULES, Rule, default_thresholds, rules_table_markdown
from mer_tf.ecrl.verdict import Verdict

__all__ = [
    "ECRL",
    "EVIDENCE",
    "FEATURE_NAMES",
    "NeutralBaseline",
    "NeutralReference",
    "RULES",
    "Rule",
    "Verdict",
    "default_thresholds",
    "extract_features",
    "rules_table_markdown",
]
