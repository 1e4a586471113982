"""MediaPipe BlazeFace, short range or full range, run directly in LiteRT.

The decoder follows MediaPipe's ``face_detection_short_range`` and
``face_detection_full_range`` graphs: ``SsdAnchorsCalculator`` with fixed-size
anchors, then ``TensorsToDetectionsCalculator`` (16 values per anchor: box
centre x, y, width, height and six keypoints, all in input-pixel units
relative to the anchor centre; sigmoid scores clipped at +-100) and weighted
non-maximum suppression at IoU 0.3. The input is the frame letterboxed to a
square RGB image, values in [-1, 1].

- short range (``face_detection_short_range.tflite``): 128x128 input, 4
  layers with strides 8, 16, 16, 16, one aspect ratio plus one interpolated
  scale per layer (2 anchors per cell on the 16x16 grid, 6 on the 8x8 grid:
  896). Faces within about 2 m of the camera.
- full range (``face_detection_full_range_sparse.tflite``): 192x192 input, one
  layer of stride 4 and no interpolated scale (one anchor per cell of a 48x48
  grid: 2304). Faces up to about 5 m away: smaller in the frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from mer_tf.faces.box import Box
from mer_tf.faces.image import check_image, to_rgb
from mer_tf.faces.litert import load_interpreter
from mer_tf.faces.model_files import FULL_RANGE, SHORT_RANGE, model_path

MODEL_FILE = SHORT_RANGE
INPUT_SIZE = 128
# range -> (model file, input side, anchor strides, interpolated scale, MediaPipe's min score)
RANGES = {
    "short": (SHORT_RANGE, 128, (8, 16, 16, 16), True, 0.5),
    "full": (FULL_RANGE, 192, (4,), False, 0.6),
}


def ssd_anchors(size: int = INPUT_SIZE, strides=(8, 16, 16, 16), interpolated: bool = True) -> np.ndarray:
    """(N, 2) anchor centres (x, y) in [0, 1], MediaPipe's order (896 short range, 2304 full range)."""
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        # aspect ratio 1.0 (+ the interpolated scale when on), per merged layer
        per_cell = (2 if interpolated else 1) * (j - i)
        n = int(np.ceil(size / strides[i]))
        for y in range(n):
            for x in range(n):
                centres.extend([((x + 0.5) / n, (y + 0.5) / n)] * per_cell)
        i = j
    return np.asarray(centres, dtype=np.float32)


class BlazeFaceDetector:
    """Face detection with MediaPipe's BlazeFace (short or full range) in LiteRT.

    Args:
        min_score: the lowest face probability kept; default MediaPipe's
            (0.5 short range, 0.6 full range).
        iou_threshold: weighted NMS merges boxes overlapping more than this.
        box_scale: BlazeFace's box is tight (brows to chin); this enlarges it
            about its centre so that it frames the face like dlib's HOG box,
            which the dlib landmarker expects. 1.0 keeps the raw box.
        model_file: the .tflite path; default: ``MODEL_FILE`` in ``models_dir``.
        num_threads: LiteRT threads.
        models_dir: the folder of model files (a bundle's); default: the installed models folder.
        model_range: ``"short"`` (faces near the camera) or ``"full"`` (far and small faces).

    Example:
        >>> det = BlazeFaceDetector(model_range="full")
        >>> boxes = det.detect(frame)
    """

    name = "blazeface"

    def __init__(self, min_score: float | None = None, iou_threshold: float = 0.3, box_scale: float = 1.0,
                 model_file=None, num_threads: int | None = None, models_dir=None, model_range: str = "short"):
        if model_range not in RANGES:
            raise ValueError(f"`model_range` must be one of {sorted(RANGES)}. Received: model_range={model_range!r}")
        file, size, strides, interpolated, default_score = RANGES[model_range]
        min_score = default_score if min_score is None else min_score
        if not 0 < min_score < 1:
            raise ValueError(f"`min_score` must be in (0, 1). Received: min_score={min_score}")
        self.model_range = model_range
        self.name = "blazeface" if model_range == "short" else "blazeface-full"
        self.min_score = float(min_score)
        self.iou_threshold = float(iou_threshold)
        self.box_scale = float(box_scale)
        self.input_size = size
        self._interp = load_interpreter(model_file or model_path(file, models_dir), num_threads)
        inp = self._interp.get_input_details()[0]
        if tuple(inp["shape"]) != (1, size, size, 3):
            raise ValueError(f"{file} has input shape {list(inp['shape'])}; expected (1, {size}, {size}, 3).")
        self._input = inp["index"]
        self._anchors = ssd_anchors(size, strides, interpolated)
        n = len(self._anchors)
        outs = {tuple(d["shape"][1:]): d["index"] for d in self._interp.get_output_details()}
        if (n, 16) not in outs or (n, 1) not in outs:
            raise ValueError(f"{file} does not have BlazeFace's outputs ({n}, 16) and ({n}, 1); "
                             f"found {sorted(outs)}. Reinstall the models (`make models`).")
        self._regressors, self._scores = outs[(n, 16)], outs[(n, 1)]
        self.last_keypoints: list[np.ndarray] = []  # (6, 2) per returned box: eyes, nose, mouth, ears

    def detect(self, image: np.ndarray) -> list[Box]:
        """Faces in a uint8 BGR (H, W, 3) or gray (H, W) image, highest score first."""
        image = check_image(image)
        h, w = image.shape[:2]
        size = self.input_size
        # letterbox: shrink first, then pad to the square (padding a 4K frame first costs ~100 ms)
        scale = size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        k = int(min(w / nw, h / nh))
        if k >= 2 and max(h, w) > 2048:
            # OpenCV's INTER_AREA is fast only for whole-number factors (a 4K frame to 192 px took
            # 184 ms, by whole factor then the rest 2 ms): shrink by k first, on a crop divisible by k.
            # Only for frames above 2048 px: smaller ones are cheap, and one resampling is sharper.
            h, w = h // k * k, w // k * k
            image = cv2.resize(image[:h, :w], (w // k, h // k), interpolation=cv2.INTER_AREA)
        small = to_rgb(cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA))
        pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
        x = np.zeros((size, size, 3), np.uint8)
        x[pad_y:pad_y + nh, pad_x:pad_x + nw] = small
        x = (x.astype(np.float32) / 127.5 - 1.0)[None]
        self._interp.set_tensor(self._input, x)
        self._interp.invoke()
        raw = self._interp.get_tensor(self._regressors)[0]  # (N, 16)
        logits = np.clip(self._interp.get_tensor(self._scores)[0, :, 0].astype(np.float64), -100.0, 100.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            self.last_keypoints = []
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        centre = raw[:, 0:2] / size + anchors  # relative to the input square
        half = raw[:, 2:4] / size / 2
        boxes = np.hstack([centre - half, centre + half])  # x0, y0, x1, y1 in [0, 1]
        kps = raw[:, 4:16].reshape(-1, 6, 2) / size + anchors[:, None, :]
        out, out_kps = [], []
        for b, s, k in _weighted_nms(boxes, scores, kps, self.iou_threshold):
            # back to frame pixels: undo the letterbox padding and the resize
            b = (b * size - (pad_x, pad_y, pad_x, pad_y)) / (nw / w, nh / h, nw / w, nh / h)
            out.append(Box(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(s)).scaled(self.box_scale))
            out_kps.append(((k * size - (pad_x, pad_y)) / (nw / w, nh / h)).astype(np.float32))
        self.last_keypoints = out_kps
        return out


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _weighted_nms(boxes, scores, kps, threshold):
    """MediaPipe's weighted NMS: each cluster's box is the score-weighted mean of its members."""
    order = np.argsort(-scores)
    boxes, scores, kps = boxes[order], scores[order], kps[order]
    remaining = np.arange(len(scores))
    while remaining.size:
        overlap = _iou(boxes[remaining[0]], boxes[remaining])
        members = remaining[overlap > threshold]
        members = members if members.size else remaining[:1]
        wts = scores[members][:, None]
        yield ((boxes[members] * wts).sum(0) / wts.sum(), float(scores[remaining[0]]),
               (kps[members] * wts[:, :, None]).sum(0) / wts.sum())
        remaining = remaining[overlap <= threshold]
        if remaining.size and remaining[0] in members:  # the top box always leaves
            remaining = remaining[1:]
