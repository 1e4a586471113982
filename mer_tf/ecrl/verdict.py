"""What ECRL says about one face."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    """An ECRL verdict: an emotion or none, the rule that fired, the numbers behind it.

    Args:
        label: one of ``mer_tf.labels.CLASSES`` (never "Neutral"), or None
            when no rule fired or the landmarks were unusable.
        rule: the rule's name (e.g. ``"Happy: AU12+EQ10_UP"``), or None.
        features: every ECRL feature (``FEATURE_NAMES``); empty when the
            landmarks were unusable.
        score: the winning rule's evidence strength (mean value / threshold
            of its present evidence; >= 1), 0.0 without a verdict.
        evidence: the evidence names present (value >= threshold).
        reason: why there is no verdict ("no rule fired", or the landmark
            problem), None when there is one.
    """

    label: str | None
    rule: str | None
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    evidence: tuple[str, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "rule": self.rule,
            "score": self.score,
            "evidence": list(self.evidence),
            "reason": self.reason,
            "features": dict(self.features),
        }
