"""The Pipeline on a real photo with the real dlib backends and a stand-in classifier.

The classifier is a plain callable (the interface: a float32 batch to
log-probabilities); the model engineers' tests run a real Keras / LiteRT one.
"""

import cv2
import numpy as np
import pytest

from mer_tf.ecrl import ECRL
from mer_tf.faces import create_detector, create_landmarker
from mer_tf.faces.dlib_mean_shape import dlib_mean_shape
from mer_tf.faces.sample_photos import load_sample_photo
from mer_tf.fusion import CNN_STANDS, ECRL_WINS, KEPT, NO_VERDICT, Pipeline, log_probs_to_probs
from mer_tf.labels import CLASSES
from mer_tf.preprocess import FacePreprocessParams


class FixedClassifier:
    """Says one class for every face; records the batches it saw."""

    def __init__(self, label):
        self.label = label
        self.batches = []

    def __call__(self, batch):
        self.batches.append(batch)
        lp = np.full((len(batch), 7), np.log(0.02))
        lp[:, CLASSES.index(self.label)] = np.log(0.88)
        return lp


@pytest.fixture(scope="module")
def backends():
    return create_detector("dlib"), create_landmarker("dlib")


@pytest.fixture(scope="module")
def astronaut():
    return load_sample_photo("astronaut")


@pytest.mark.parametrize("cnn, fused, reason", [("Disgust", "Happy", ECRL_WINS), ("Sad", "Sad", CNN_STANDS),
                                                ("Surprise", "Surprise", KEPT)])
def test_smiling_astronaut_against_the_mean_shape(backends, astronaut, cnn, fused, reason):
    clf = FixedClassifier(cnn)
    pipe = Pipeline(*backends, FacePreprocessParams(size=48), clf)
    [face] = pipe.process(astronaut, neutral=dlib_mean_shape())
    assert clf.batches[0].shape == (1, 48, 48, 3) and clf.batches[0].dtype == np.float32
    assert face.cnn_label == cnn and face.cnn_score == pytest.approx(0.88, abs=1e-6)
    assert face.cnn_probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert face.ecrl_label == "Happy" and face.rule.startswith("Happy")
    assert face.ecrl.features["eq10_mouth_curvature"] > 0
    assert (face.label, face.reason) == (fused, reason)
    assert face.to_dict()["fused"] == fused


def test_stream_builds_a_neutral_baseline_first(backends, astronaut):
    pipe = Pipeline(*backends, None, FixedClassifier("Angry"), baseline_warmup=3, redetect_every=2)
    reasons = []
    for k in range(5):
        frame = cv2.warpAffine(astronaut, np.float32([[1, 0, k], [0, 1, 0]]), (512, 512))
        [face] = pipe.process(frame)
        assert face.face_id == 0  # one id through the stream
        reasons.append(face.ecrl.reason or "")
    assert all("baseline" in r for r in reasons[:3])
    assert face.ecrl.reason == "no rule fired"  # the same face against its own average: no expression
    assert face.label == "Angry" and face.reason == NO_VERDICT
    assert max(abs(v) for k, v in face.ecrl.features.items() if k != "fit_rms") < 0.03


def test_clip_uses_the_onset_as_neutral(backends, astronaut):
    pipe = Pipeline(*backends, None, FixedClassifier("Fear"))
    [face] = pipe.process_clip(astronaut, astronaut)
    assert face.ecrl.reason == "no rule fired" and face.ecrl.features["au12"] == pytest.approx(0, abs=1e-6)


def test_no_face_no_results_and_bad_classifier(backends):
    blank = np.full((240, 320, 3), 90, np.uint8)
    assert Pipeline(*backends, None, FixedClassifier("Happy")).process(blank) == []
    with pytest.raises(ValueError, match="callable"):
        Pipeline(*backends, None, "model.tflite")
    with pytest.raises(ValueError, match=r"\(N, 7\)"):
        log_probs_to_probs(np.zeros((1, 3)), 1)
    pipe = Pipeline(*backends, None, lambda batch: np.zeros((len(batch), 6)))
    with pytest.raises(ValueError, match="log-probabilities"):
        pipe.process(load_sample_photo("grace_hopper"))


def test_custom_ecrl_thresholds_reach_the_verdict(backends, astronaut):
    strict = ECRL({"AU12": 10.0})  # a smile can never be this large
    [face] = Pipeline(*backends, None, FixedClassifier("Sad"), ecrl=strict).process(astronaut, neutral=dlib_mean_shape())
    assert face.ecrl_label != "Happy"


class PeerLiteRT:
    """The peer FER model (mini-Xception, int8 weights) in LiteRT, as a pipeline classifier.

    It takes 64x64 gray in [-1, 1] and returns probabilities in FER2013
    order; this wrapper feeds it our aligned crops and returns
    log-probabilities in CLASSES order (the Pipeline's classifier contract).
    """

    FER_ORDER = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")

    def __init__(self):
        from mer_tf.faces.litert import load_interpreter
        from mer_tf.faces.model_files import model_path

        self.interp = load_interpreter(model_path("fer_mini_xception_int8.tflite"))
        self.inp = self.interp.get_input_details()[0]["index"]
        self.out = self.interp.get_output_details()[0]["index"]
        self.order = [self.FER_ORDER.index(c) for c in CLASSES]

    def __call__(self, batch):
        probs = []
        for face in batch:
            self.interp.set_tensor(self.inp, np.ascontiguousarray(face[None, :, :, :1]))
            self.interp.invoke()
            probs.append(self.interp.get_tensor(self.out)[0])
        return np.log(np.clip(np.asarray(probs)[:, self.order], 1e-9, None))


def test_a_real_litert_classifier_on_real_faces(backends):
    """Our aligned crops fed to a real FER model: the smiling astronaut is Happy, Grace Hopper is not."""
    params = FacePreprocessParams(size=64, normalization="symmetric")
    pipe = Pipeline(*backends, params, PeerLiteRT())
    [smile] = pipe.process(load_sample_photo("astronaut"), neutral=dlib_mean_shape())
    assert smile.cnn_label == "Happy" and smile.cnn_score > 0.9
    assert (smile.label, smile.reason) == ("Happy", "kept")  # a positive CNN label is not checked
    [grace] = pipe.process(load_sample_photo("grace_hopper"), neutral=dlib_mean_shape())
    assert grace.face_id != smile.face_id  # a different face: the tracker re-detected at once
    assert grace.cnn_label != "Happy"
