"""RuleEngine: the rule table applied to features with one set of thresholds.

Kept apart from ``ECRL`` (features, persistence, calibration) so that the
calibration can score the thresholds it fitted without importing ``ECRL``:
the two modules used to import each other.
"""

from __future__ import annotations

import numpy as np

from mer_tf.ecrl.rules import EVIDENCE, RULES, default_thresholds
from mer_tf.ecrl.verdict import Verdict

# the rule table as sets, once: a rule check is then three set operations
_RULE_SETS = [(r, frozenset(r.required), frozenset(r.any_of), frozenset(r.excluded)) for r in RULES]


class RuleEngine:
    """EMFACS rules on ECRL features: which evidence is present, which rule fires.

    Args:
        thresholds: evidence name -> threshold (see ``rules.EVIDENCE``);
            missing names take their documented default.

    Example:
        >>> engine = RuleEngine({"AU12": 0.05})
        >>> engine.judge(extract_features(apex_landmarks, onset_landmarks)).label
    """

    def __init__(self, thresholds: dict[str, float] | None = None):
        merged = default_thresholds()
        for name, value in (thresholds or {}).items():
            if name not in EVIDENCE:
                raise ValueError(f"Unknown ECRL evidence {name!r}; known: {sorted(EVIDENCE)}.")
            value = float(value)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"ECRL threshold {name} must be a positive number. Received: {value!r}")
            merged[name] = value
        self.thresholds = merged
        # evidence strength = feature * sign / threshold: present when >= 1
        self._items = [(name, feat, sign / merged[name]) for name, (feat, sign, _, _) in EVIDENCE.items()]

    def judge(self, features: dict[str, float]) -> Verdict:
        """The verdict of the rules on features from ``extract_features``: the strongest firing rule."""
        strength = {name: features[feat] * k for name, feat, k in self._items}
        present = frozenset(name for name, s in strength.items() if s >= 1.0)
        best, best_score = None, 0.0
        for rule, required, any_of, excluded in _RULE_SETS:
            if not required <= present or (any_of and not any_of & present) or excluded & present:
                continue
            hits = required | (any_of & present)
            score = sum(strength[e] for e in hits) / len(hits)
            if score > best_score:
                best, best_score = rule, score
        evidence = tuple(name for name in EVIDENCE if name in present)
        if best is None:
            return Verdict(None, None, features, 0.0, evidence, reason="no rule fired")
        return Verdict(best.label, best.name, features, float(best_score), evidence)
