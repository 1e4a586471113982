"""The Emotion Classification Rule Library: features -> rules -> verdict."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from mer_tf.atomic import atomic_write_json
from mer_tf.ecrl.features import FEATURE_NAMES, NeutralReference, extract_features
from mer_tf.ecrl.calibration import calibrate
from mer_tf.ecrl.rule_engine import RuleEngine
from mer_tf.ecrl.rules import RULES
from mer_tf.ecrl.verdict import Verdict

log = logging.getLogger(__name__)
ECRL_VERSION = 1


class ECRL:
    """The rule engine on facial landmarks (paper section 2.5), NumPy only.

    Args:
        thresholds: evidence name -> threshold (see ``rules.EVIDENCE``);
            missing names take their documented default.
        calibration: summary of the calibration that produced the thresholds
            (kept in ``ecrl.json`` for the record), or None for defaults.

    Example:
        >>> ecrl = ECRL.default()
        >>> v = ecrl.predict(apex_landmarks, onset_landmarks)
        >>> v.label, v.rule, v.features["eq10_mouth_curvature"]
    """

    def __init__(self, thresholds: dict[str, float] | None = None, calibration: dict | None = None):
        self._engine = RuleEngine(thresholds)
        self.thresholds = self._engine.thresholds
        self.calibration = calibration
        self._ref_key: bytes | None = None
        self._ref: NeutralReference | None = None

    @classmethod
    def default(cls) -> "ECRL":
        """The documented default thresholds, no calibration."""
        return cls()

    # -- prediction ---------------------------------------------------------
    def reference(self, neutral) -> NeutralReference:
        """A prepared neutral; the last one is cached, so a clip's onset is prepared once."""
        if isinstance(neutral, NeutralReference):
            return neutral
        key = np.asarray(neutral, dtype=np.float64).tobytes()
        if key != self._ref_key:
            self._ref = NeutralReference(neutral)
            self._ref_key = key
        return self._ref

    def predict(self, landmarks, neutral) -> Verdict:
        """The verdict on one face against the same person's neutral face.

        Wrong shapes raise ValueError (a programming error). Unusable values
        (NaN, a collapsed face) give a verdict with ``label=None`` and the
        problem in ``reason``: a landmarker that lost the face is a normal
        event on a stream, and fusion then keeps the CNN.
        """
        if np.shape(landmarks) != (68, 2):
            raise ValueError(f"landmarks must have shape (68, 2) in iBUG 68 order; received {np.shape(landmarks)}.")
        if not isinstance(neutral, NeutralReference) and np.shape(neutral) != (68, 2):
            raise ValueError(f"neutral must have shape (68, 2) in iBUG 68 order; received {np.shape(neutral)}.")
        try:
            features = extract_features(landmarks, self.reference(neutral))
        except ValueError as err:
            return Verdict(None, None, {}, reason=f"unusable landmarks: {err}")
        return self.predict_features(features)

    def predict_features(self, features: dict[str, float]) -> Verdict:
        """The rules alone, on features from ``extract_features``."""
        return self._engine.judge(features)

    # -- persistence --------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "version": ECRL_VERSION,
            "features": list(FEATURE_NAMES),
            "thresholds": dict(self.thresholds),
            "calibration": self.calibration,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ECRL":
        if not isinstance(d, dict) or "thresholds" not in d:
            raise ValueError("an ecrl.json must be an object with a 'thresholds' mapping.")
        if d.get("version", ECRL_VERSION) > ECRL_VERSION:
            raise ValueError(f"ecrl.json version {d['version']} is newer than this mer-tf; upgrade mer-tf.")
        return cls(d["thresholds"], d.get("calibration"))

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``ecrl.json`` atomically (a folder path gets ``ecrl.json`` inside)."""
        path = Path(path)
        if path.is_dir():
            path = path / "ecrl.json"
        return atomic_write_json(path, self.to_dict(), sort_keys=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ECRL":
        path = Path(path)
        if path.is_dir():
            path = path / "ecrl.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found. Calibrate with ECRL.calibrate(...).save(path), or use ECRL.default()."
            )
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON ({err}); re-run the calibration.") from None

    # -- calibration --------------------------------------------------------
    @classmethod
    def calibrate(cls, apex_landmarks, neutral_landmarks, labels, **kwargs) -> "ECRL":
        """Fit the thresholds on labelled onset/apex pairs; see ``calibration.calibrate``."""
        thresholds, summary = calibrate(apex_landmarks, neutral_landmarks, labels, **kwargs)
        return cls(thresholds, summary)

    def __repr__(self) -> str:
        kind = "calibrated" if self.calibration else "default"
        return f"ECRL({kind}, {len(RULES)} rules, {len(self.thresholds)} thresholds)"
