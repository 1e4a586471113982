"""A learnability probe: can a linear model tell the classes apart under LOSO, and from what?

Run: ``python -m mer_tf.datasets.synthetic.probe datasets/synthetic [--dlib]``.
Features: apex - onset landmarks (ground truth, or dlib's with --dlib),
aligned 64x64 gray pixels of apex - onset, of the apex alone, and HOG of the
apex alone (what an apex-frame CNN sees). Model: StandardScaler + PCA(60) + logistic regression
(scikit-learn; no PCA and C=0.05 for HOG). Numbers on the synthetic set are synthetic numbers.
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

from mer_tf.faces.ibug68 import STABLE

CROP = 64


def _align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    matrix, _ = cv2.estimateAffinePartial2D(points[list(STABLE)].astype(np.float32),
                                            reference[list(STABLE)].astype(np.float32))
    return points @ matrix[:, :2].T + matrix[:, 2]


def _landmark_motion(onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    width = np.linalg.norm(onset[16] - onset[0])
    return ((_align(apex, onset) - onset) / width).ravel()


def _crop(image: np.ndarray, landmarks: np.ndarray, template: np.ndarray) -> np.ndarray:
    matrix, _ = cv2.estimateAffinePartial2D(landmarks[list(STABLE)].astype(np.float32),
                                            template[list(STABLE)].astype(np.float32))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.warpAffine(gray, matrix, (CROP, CROP)).astype(np.float32) / 255


def learnability(path, use_dlib: bool = False) -> dict[str, dict[str, float]]:
    """LOSO accuracy (by subject and by group) of a linear model on several feature sets.

    Args:
        path: a synthetic set (needs the ground-truth landmarks).
        use_dlib: also measure dlib-detected landmarks (slower: two detections per clip).

    Returns:
        {feature set: {"subject": accuracy, "group": accuracy}}, plus
        {"chance": ...} and, with use_dlib, {"dlib_error": mean error in face widths}.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mer_tf.datasets import load_dataset
    from mer_tf.labels import CLASSES

    samples = [s for s in load_dataset(path, verify=False).samples if s.label7 and s.landmarks is not None]
    if not samples:
        raise ValueError(f"No samples with ground-truth landmarks in {path}; run `mer data synth` first.")
    y = np.array([CLASSES.index(s.label7) for s in samples])
    first = np.load(samples[0].landmarks)[0].astype(np.float64)
    template = (first - first.mean(0)) / np.linalg.norm(first[16] - first[0]) * CROP * 0.8 + CROP / 2
    from skimage.feature import hog

    features: dict[str, list] = {"landmarks (ground truth)": [], "pixels apex-onset": [], "pixels apex only": [],
                                 "HOG apex only": []}
    for s in samples:
        lm = np.load(s.landmarks).astype(np.float64)
        features["landmarks (ground truth)"].append(_landmark_motion(lm[s.onset], lm[s.apex]))
        apex = _crop(cv2.imread(str(s.apex_frame)), lm[s.apex], template)
        onset = _crop(cv2.imread(str(s.onset_frame)), lm[s.onset], template)
        features["pixels apex-onset"].append((apex - onset).ravel())
        features["pixels apex only"].append(((apex - apex.mean()) / (apex.std() + 1e-6)).ravel())
        features["HOG apex only"].append(hog(apex, orientations=8, pixels_per_cell=(6, 6), cells_per_block=(2, 2)))
    result: dict = {"chance": 1 / len(CLASSES)}
    if use_dlib:
        from mer_tf.faces import create_detector, create_landmarker

        detector, landmarker = create_detector("dlib"), create_landmarker("dlib")
        errors, rows = [], []
        for s in samples:
            truth = np.load(s.landmarks).astype(np.float64)
            found = []
            for i in (s.onset, s.apex):
                image = cv2.imread(str(s.frames[i]))
                boxes = detector.detect(image)
                points = landmarker.landmarks(image, boxes[0]).astype(np.float64) if boxes else truth[i]
                errors.append(np.linalg.norm(points - truth[i], axis=1).mean() / np.linalg.norm(truth[i][16] - truth[i][0]))
                found.append(points)
            rows.append(_landmark_motion(*found))
        features["landmarks (dlib)"] = rows
        result["dlib_error"] = float(np.mean(errors))
    units = {"subject": np.array([s.subject for s in samples]), "group": np.array([s.group for s in samples])}
    for name, rows in features.items():
        x = np.asarray(rows)
        if name.startswith("HOG"):  # many weak features: a strongly regularized linear model, no PCA
            model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=3000))
        else:
            model = make_pipeline(StandardScaler(), PCA(n_components=min(60, *x.shape), random_state=0),
                                  LogisticRegression(C=0.5, max_iter=3000))
        result[name] = {}
        for by, groups in units.items():
            if len(set(groups)) < 2:
                continue
            guess = cross_val_predict(model, x, y, groups=groups, cv=LeaveOneGroupOut())
            result[name][by] = float(np.mean(guess == y))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="datasets/synthetic")
    parser.add_argument("--dlib", action="store_true", help="also dlib-detected landmarks")
    args = parser.parse_args()
    out = learnability(args.path, use_dlib=args.dlib)
    print(f"synthetic set {args.path}: 7 classes, chance {out.pop('chance'):.3f}")
    if "dlib_error" in out:
        print(f"dlib landmark error vs ground truth: {out.pop('dlib_error'):.4f} face widths")
    for name, scores in out.items():
        print(f"  {name:26s} " + "  ".join(f"LOSO by {k}: {v:.3f}" for k, v in scores.items()))
    sys.exit(0)
