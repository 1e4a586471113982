"""The Pipeline: detection, landmarks, preprocessing, classifier, ECRL, fusion."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from mer_tf.ecrl import ECRL, NeutralBaseline, Verdict
from mer_tf.faces.box import Box
from mer_tf.faces.face_tracker import FaceTracker
from mer_tf.fusion_policy import FusionPolicy
from mer_tf.labels import CLASSES
from mer_tf.preprocess import FacePreprocessParams, preprocess_face

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceResult:
    """Everything the pipeline says about one face in one frame.

    Args:
        face_id: the tracker's id (stable across frames of a stream).
        box: the face box; landmarks: (68, 2) float32.
        cnn_label: the classifier's argmax; cnn_score: its probability.
        cnn_probs: probabilities of all seven classes, ``CLASSES`` order.
        ecrl: ECRL's verdict (label None: no rule fired, no neutral yet, or
            unusable landmarks; see ``ecrl.reason``).
        label: the fused label; reason: the fusion reason code
            (``mer_tf.fusion.REASONS``).
    """

    face_id: int
    box: Box
    landmarks: np.ndarray
    cnn_label: str
    cnn_score: float
    cnn_probs: np.ndarray
    ecrl: Verdict
    label: str
    reason: str

    @property
    def ecrl_label(self) -> str | None:
        return self.ecrl.label

    @property
    def rule(self) -> str | None:
        return self.ecrl.rule

    def to_dict(self) -> dict:
        return {
            "face_id": self.face_id,
            "box": [self.box.x0, self.box.y0, self.box.x1, self.box.y1, self.box.score],
            "cnn": self.cnn_label, "cnn_score": self.cnn_score,
            "ecrl": self.ecrl.label, "rule": self.ecrl.rule, "ecrl_score": self.ecrl.score,
            "fused": self.label, "reason": self.reason,
        }


def log_probs_to_probs(log_probs, n: int) -> np.ndarray:
    """(n, 7) probabilities from a classifier's log-probabilities, with clear shape errors."""
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.shape != (n, len(CLASSES)):
        raise ValueError(
            f"The classifier must map (N, S, S, 3) to log-probabilities (N, {len(CLASSES)}); "
            f"it returned shape {lp.shape} for N={n}."
        )
    lp = lp - lp.max(axis=1, keepdims=True)  # renormalize: quantized outputs do not sum to exactly 1
    p = np.exp(lp)
    return p / p.sum(axis=1, keepdims=True)


class Pipeline:
    """Frames in, per-face CNN / ECRL / fused labels out (paper stages 1-6).

    Args:
        detector: a ``FaceDetector`` (``mer_tf.faces.create_detector``).
        landmarker: a ``Landmarker`` (``mer_tf.faces.create_landmarker``).
        preprocess_params: ``FacePreprocessParams`` (the model's preprocess.json).
        classifier: any callable from a float32 batch (N, S, S, 3) to
            log-probabilities (N, 7): a Keras model, a LiteRT wrapper, a lambda.
        ecrl: the rule engine (default ``ECRL.default()``).
        policy: the fusion policy (default ``FusionPolicy.paper()``).
        redetect_every: the tracker's re-detection period in frames.
        baseline_warmup: frames per face averaged into its running neutral
            before ECRL gives verdicts (when no explicit neutral is passed).

    Example:
        >>> pipe = Pipeline(create_detector("blazeface"), create_landmarker("mediapipe"),
        ...                 FacePreprocessParams.load(model_dir), classifier)
        >>> for frame in frames:
        ...     for face in pipe.process(frame):
        ...         print(face.face_id, face.cnn_label, face.ecrl_label, face.label, face.rule)
    """

    def __init__(self, detector, landmarker, preprocess_params: FacePreprocessParams | None, classifier,
                 ecrl: ECRL | None = None, policy: FusionPolicy | None = None,
                 redetect_every: int = 10, baseline_warmup: int = 5):
        if not callable(classifier):
            raise ValueError(f"`classifier` must be callable (batch -> log-probabilities); got {type(classifier).__name__}.")
        self.preprocess_params = preprocess_params or FacePreprocessParams()
        self.classifier = classifier
        self.ecrl = ecrl or ECRL.default()
        self.policy = policy or FusionPolicy.paper()
        self.tracker = FaceTracker(detector, landmarker, redetect_every=redetect_every)
        self.baseline_warmup = int(baseline_warmup)
        self._baselines: dict[int, NeutralBaseline] = {}

    def reset(self) -> None:
        """Start a new stream: forget tracks and running neutrals."""
        self.tracker.reset()
        self._baselines.clear()

    def process(self, frame: np.ndarray, neutral=None) -> list[FaceResult]:
        """Every face in a frame.

        Args:
            frame: uint8 BGR (H, W, 3) or gray (H, W).
            neutral: the neutral reference for ECRL: (68, 2) landmarks used
                for every face (e.g. a clip's onset), a dict face id ->
                landmarks, or None to use each face's running neutral
                baseline (quiet frames of the same track).
        """
        faces = self.tracker.update(frame)
        return self.classify_faces(frame, [(f.id, f.box, f.landmarks) for f in faces], neutral)

    def process_clip(self, onset_frame: np.ndarray, apex_frame: np.ndarray) -> list[FaceResult]:
        """A labelled-clip style call: the onset frame's landmarks are the apex's neutral.

        Faces are matched between the two frames by the tracker (same ids).
        """
        self.reset()
        onset = {f.id: f.landmarks for f in self.tracker.update(onset_frame)}
        results = self.process(apex_frame, neutral=onset)
        self.reset()
        return results

    def classify_faces(self, frame: np.ndarray, faces, neutral=None) -> list[FaceResult]:
        """Stages 3-6 on faces already found: ``faces`` is a list of (id, box, landmarks)."""
        if not faces:
            return []
        batch = np.stack([preprocess_face(frame, lm, self.preprocess_params) for _, _, lm in faces])
        probs = log_probs_to_probs(self.classifier(batch), len(faces))
        results = []
        for (fid, box, lm), p in zip(faces, probs):
            k = int(np.argmax(p))
            cnn_label = CLASSES[k]
            verdict = self._ecrl(fid, lm, neutral)
            label, reason = self.policy.fuse(cnn_label, verdict.label)
            results.append(FaceResult(fid, box, lm, cnn_label, float(p[k]), p.astype(np.float32), verdict, label, reason))
        return results

    def _ecrl(self, face_id: int, landmarks: np.ndarray, neutral) -> Verdict:
        if isinstance(neutral, dict):
            neutral = neutral.get(face_id)
            if neutral is None:
                return Verdict(None, None, reason=f"no neutral reference for face {face_id}")
        if neutral is not None:
            return self.ecrl.predict(landmarks, neutral)
        base = self._baselines.setdefault(face_id, NeutralBaseline(warmup=self.baseline_warmup))
        if not base.ready:
            base.update(landmarks)
            return Verdict(None, None, reason=f"building the neutral baseline ({base.count}/{base.warmup} frames)")
        verdict = self.ecrl.predict(landmarks, base.reference)
        base.update(landmarks, quiet=verdict.label is None and not verdict.reason.startswith("unusable"))
        return verdict
