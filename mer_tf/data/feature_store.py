"""Per-sample features computed once and cached as NumPy files.

For every sample: the network input (the preprocessed apex face, or the
onset -> apex flow), the 68 apex landmarks and the 68 neutral (onset)
landmarks for ECRL, and the milliseconds each stage took. Preprocessing learns
nothing from data, so one cache serves every LOSO fold without leakage.

NumPy + OpenCV only: building the cache needs no TensorFlow.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mer_tf.data.input_spec import InputSpec

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """`$MER_TF_CACHE`, else `~/.cache/mer-tf/features` (datasets may be read-only)."""
    env = os.environ.get("MER_TF_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mer-tf" / "features"


@dataclass
class SampleFeatures:
    """What the cache holds for one sample."""

    image: np.ndarray  # (S, S, 3) float32 network input
    apex_landmarks: np.ndarray  # (68, 2) float32, apex frame pixels
    neutral_landmarks: np.ndarray  # (68, 2) float32, onset frame pixels
    face_found: bool  # False: no face detected, the whole frame was used
    ms: dict  # stage -> milliseconds for this sample


def _read(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"Cannot read frame {path}; check the dataset tree (mer data check).")
    return img


def read_flow_image(sample, size: int, regions_of=None, scaling: str | None = None) -> np.ndarray:
    """The sample's shipped flow image as (size, size, 3) float32 u, v, strain in 0..1.

    The MEGC 2019 release stores u, v, strain as an RGB PNG, each channel
    min-max scaled to 0..255; OpenCV reads it as BGR, i.e. (strain, v, u).

    Args:
        regions_of: None (the whole image) or `(landmarks, (height, width))`:
            the apex landmarks and the size of the image they were found on;
            the image is then the eyes-and-mouth mosaic of
            `mer_tf.data.flow_regions.eyes_mouth_mosaic`, cut at the flow
            image's own resolution before it is resized.
        scaling: None (as shipped), "centre" (the resized image's median u
            and v subtracted: `mer_tf.data.flow_scaling.centre_flow`) or
            "standardize" (each channel a z-score: `standardize_flow`).
    """
    import cv2

    if getattr(sample, "flow", None) is None:
        raise ValueError(f"Sample {sample.key} has no flow image; input 'flow_image' needs data that ships one "
                         "(the MEGC 2019 release, --dataset megc2019), or use --input flow or apex.")
    img = cv2.imread(str(sample.flow), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"Cannot read flow image {sample.flow}; check the dataset (mer data check).")
    img = img[..., ::-1].astype(np.float32) / 255.0  # (u, v, strain)
    if regions_of is not None:
        from mer_tf.data.flow_regions import eyes_mouth_mosaic

        img = np.ascontiguousarray(eyes_mouth_mosaic(img, *regions_of))
    if img.shape[:2] != (size, size):
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
    if scaling is not None:
        from mer_tf.data.flow_scaling import rescale

        img = rescale(img, scaling)
    return img


class FeatureStore:
    """Computes and caches `SampleFeatures`.

    Args:
        spec: the `InputSpec`.
        cache_dir: root of the cache (default: `default_cache_dir()`); files go
            to `<cache_dir>/<spec.key()>/<hash of the sample>.npz`.
    """

    def __init__(self, spec: InputSpec, cache_dir: str | Path | None = None):
        self.spec = spec
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.root = self.cache_dir / spec.key()
        self._detector = None
        self._landmarker = None

    def path(self, sample) -> Path:
        """The cache file of a sample: keyed by its key, frames and file stamps."""
        frames = {sample.frames[sample.onset], sample.frames[sample.apex]}
        stamp = [sample.key, sample.onset, sample.apex, sample.landmarks and str(sample.landmarks)]
        for f in sorted(frames):
            st = Path(f).stat() if Path(f).exists() else None
            stamp.append((str(f), st.st_size if st else -1, st.st_mtime_ns if st else -1))
        digest = hashlib.sha1(repr(stamp).encode()).hexdigest()[:16]
        return self.root / f"{digest}.npz"

    # -- landmarks ---------------------------------------------------------
    def _face(self, image: np.ndarray) -> tuple[np.ndarray, bool, float, float]:
        from mer_tf.faces import Box, create_detector, create_landmarker

        if self._detector is None:
            self._detector = create_detector(self.spec.detector)
            self._landmarker = create_landmarker(self.spec.landmarker)
        t0 = time.perf_counter()
        boxes = self._detector.detect(image)
        t1 = time.perf_counter()
        found = bool(boxes)
        if found:
            box = max(boxes, key=lambda b: b.width * b.height)
        else:  # the landmarker on the whole frame is better than no sample
            h, w = image.shape[:2]
            box = Box(0.0, 0.0, float(w), float(h), 0.0)
        lm = np.asarray(self._landmarker.landmarks(image, box), dtype=np.float32)
        t2 = time.perf_counter()
        return lm, found, (t1 - t0) * 1e3, (t2 - t1) * 1e3

    def _ground_truth(self, sample) -> tuple[np.ndarray, np.ndarray]:
        if sample.landmarks is None or not Path(sample.landmarks).exists():
            raise FileNotFoundError(
                f"Sample {sample.key} has no ground-truth landmarks file ({sample.landmarks}); "
                "use landmarks='detected'."
            )
        arr = np.load(sample.landmarks).astype(np.float32)
        if arr.ndim == 2:  # one (68, 2) set for the clip
            return arr, arr
        return arr[sample.apex], arr[sample.onset]

    # -- features ----------------------------------------------------------
    def compute(self, sample) -> SampleFeatures:
        """Decode the frames and compute the features of one sample (no cache)."""
        from mer_tf.preprocess import align_face, preprocess_face

        params = self.spec.params()
        apex = _read(sample.frames[sample.apex])
        onset = apex if sample.onset == sample.apex else _read(sample.frames[sample.onset])
        ms = {}
        if self.spec.landmarks == "detected":
            lm_apex, found_a, det_a, lmk_a = self._face(apex)
            if onset is apex:
                lm_onset, found_o = lm_apex, found_a
            else:
                lm_onset, found_o, _, _ = self._face(onset)
            ms["detect"], ms["landmarks"] = det_a, lmk_a
            found = found_a and found_o
        else:
            lm_apex, lm_onset = self._ground_truth(sample)
            found = True
        t0 = time.perf_counter()
        if self.spec.mode == "apex":
            image = preprocess_face(apex, lm_apex, params)
        elif self.spec.mode == "flow_image":
            regions_of = (lm_apex, apex.shape[:2]) if self.spec.flow_regions == "eyes_mouth" else None
            image = read_flow_image(sample, params.size, regions_of, self.spec.flow_scaling)
        else:
            from mer_tf.flow import flow_input

            # Both frames through the onset's transform, so alignment keeps the motion.
            crop_onset, _ = align_face(onset, lm_onset, params)
            crop_apex, _ = align_face(apex, lm_onset, params)
            image = flow_input(crop_onset, crop_apex, self.spec.flow_method)
        ms["preprocess"] = (time.perf_counter() - t0) * 1e3
        image = np.asarray(image, dtype=np.float32)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        return SampleFeatures(image, lm_apex, lm_onset, found, ms)

    def load(self, sample) -> SampleFeatures:
        """The cached features of a sample, computing and caching them if missing."""
        path = self.path(sample)
        if not path.exists():
            self._save(path, self.compute(sample))
        with np.load(path) as z:
            ms = dict(zip(z["ms_keys"].tolist(), z["ms_values"].tolist()))
            return SampleFeatures(
                z["image"], z["apex_landmarks"], z["neutral_landmarks"], bool(z["face_found"]), ms
            )

    @staticmethod
    def _save(path: Path, f: SampleFeatures) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        os.close(fd)
        try:
            np.savez(
                tmp,
                image=f.image,
                apex_landmarks=f.apex_landmarks,
                neutral_landmarks=f.neutral_landmarks,
                face_found=np.bool_(f.face_found),
                ms_keys=np.array(list(f.ms), dtype=str),
                ms_values=np.array(list(f.ms.values()), dtype=np.float64),
            )
            os.replace(tmp, path)  # atomic: a killed run never leaves half a cache file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def ensure(self, samples: Sequence, progress: bool = True) -> list[Path]:
        """Compute the missing cache files of `samples` (tqdm bar on stderr)."""
        from tqdm import tqdm

        paths = [self.path(s) for s in samples]
        missing = [(s, p) for s, p in zip(samples, paths) if not p.exists()]
        if missing:
            log.info("computing %d of %d sample features into %s", len(missing), len(samples), self.root)
            for s, p in tqdm(missing, desc=f"features ({self.spec.mode})", disable=not progress, unit="sample"):
                self._save(p, self.compute(s))
        return paths

    def load_all(self, samples: Sequence, progress: bool = True) -> list[SampleFeatures]:
        """`ensure` then load every sample's features, in order."""
        self.ensure(samples, progress=progress)
        feats = [self.load(s) for s in samples]
        missed = [s.key for s, f in zip(samples, feats) if not f.face_found]
        if missed:
            log.warning("no face detected in %d samples (whole frame used): %s", len(missed), missed[:5])
        return feats
