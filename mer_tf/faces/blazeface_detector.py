"""MediaPipe BlazeFace (short range) run directly in LiteRT.

The decoder follows MediaPipe's ``face_detection_short_range`` graph:
``SsdAnchorsCalculator`` with 4 layers, strides 8, 16, 16, 16, one aspect
ratio plus one interpolated scale per layer and fixed-size anchors (2 anchors
per cell on the 16x16 grid, 6 on the 8x8 grid: 896), then
``TensorsToDetectionsCalculator`` (16 values per anchor: box centre x, y,
width, height and six keypoints, all in 128-pixel units relative to the
anchor centre; sigmoid scores clipped at +-100) and weighted non-maximum
suppression at IoU 0.3. The input is the frame letterboxed to 128x128 RGB,
values in [-1, 1]. The model suits faces within about 2 m of the camera.
"""

from __future__ import annotations

import cv2
import numpy as np

from mer_tf.faces.box import Box
from mer_tf.faces.image import to_rgb
from mer_tf.faces.litert import load_interpreter
from mer_tf.faces.model_files import model_path

MODEL_FILE = "face_detection_short_range.tflite"
INPUT_SIZE = 128


def ssd_anchors(size: int = INPUT_SIZE, strides=(8, 16, 16, 16)) -> np.ndarray:
    """(896, 2) anchor centres (x, y) in [0, 1], MediaPipe's order."""
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)  # aspect ratio 1.0 + the interpolated scale, per merged layer
        n = int(np.ceil(size / strides[i]))
        for y in range(n):
            for x in range(n):
                centres.extend([((x + 0.5) / n, (y + 0.5) / n)] * per_cell)
        i = j
    return np.asarray(centres, dtype=np.float32)


class BlazeFaceDetector:
    """Face detection with MediaPipe's short-range BlazeFace in LiteRT.

    Args:
        min_score: the lowest face probability kept (MediaPipe uses 0.5).
        iou_threshold: weighted NMS merges boxes overlapping more than this.
        box_scale: BlazeFace's box is tight (brows to chin); this enlarges it
            about its centre so that it frames the face like dlib's HOG box,
            which the dlib landmarker expects. 1.0 keeps the raw box.
        model_file: the .tflite path; default: the installed models folder.
        num_threads: LiteRT threads.

    Example:
        >>> det = BlazeFaceDetector()
        >>> boxes = det.detect(frame)
    """

    name = "blazeface"

    def __init__(self, min_score: float = 0.5, iou_threshold: float = 0.3, box_scale: float = 1.0,
                 model_file=None, num_threads: int | None = None):
        if not 0 < min_score < 1:
            raise ValueError(f"`min_score` must be in (0, 1). Received: min_score={min_score}")
        self.min_score = float(min_score)
        self.iou_threshold = float(iou_threshold)
        self.box_scale = float(box_scale)
        self._interp = load_interpreter(model_file or model_path(MODEL_FILE), num_threads)
        inp = self._interp.get_input_details()[0]
        if tuple(inp["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{MODEL_FILE} has input shape {inp['shape']}; expected (1, 128, 128, 3).")
        self._input = inp["index"]
        outs = {tuple(d["shape"][1:]): d["index"] for d in self._interp.get_output_details()}
        self._regressors, self._scores = outs[(896, 16)], outs[(896, 1)]
        self._anchors = ssd_anchors()
        self.last_keypoints: list[np.ndarray] = []  # (6, 2) per returned box: eyes, nose, mouth, ears

    def detect(self, image: np.ndarray) -> list[Box]:
        """Faces in a uint8 BGR (H, W, 3) or gray (H, W) image, highest score first."""
        rgb = to_rgb(image)
        h, w = rgb.shape[:2]
        side = max(h, w)  # letterbox: pad to a square, keep the aspect ratio
        pad_x, pad_y = (side - w) // 2, (side - h) // 2
        square = cv2.copyMakeBorder(rgb, pad_y, side - h - pad_y, pad_x, side - w - pad_x, cv2.BORDER_CONSTANT, value=0)
        x = cv2.resize(square, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        x = (x.astype(np.float32) / 127.5 - 1.0)[None]
        self._interp.set_tensor(self._input, x)
        self._interp.invoke()
        raw = self._interp.get_tensor(self._regressors)[0]  # (896, 16)
        logits = np.clip(self._interp.get_tensor(self._scores)[0, :, 0].astype(np.float64), -100.0, 100.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            self.last_keypoints = []
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        centre = raw[:, 0:2] / INPUT_SIZE + anchors  # relative to the 128 x 128 square
        half = raw[:, 2:4] / INPUT_SIZE / 2
        boxes = np.hstack([centre - half, centre + half])  # x0, y0, x1, y1 in [0, 1]
        kps = raw[:, 4:16].reshape(-1, 6, 2) / INPUT_SIZE + anchors[:, None, :]
        out, out_kps = [], []
        for b, s, k in _weighted_nms(boxes, scores, kps, self.iou_threshold):
            # back to frame pixels: undo the resize and the letterbox padding
            b = b * side - (pad_x, pad_y, pad_x, pad_y)
            out.append(Box(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(s)).scaled(self.box_scale))
            out_kps.append((k * side - (pad_x, pad_y)).astype(np.float32))
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
