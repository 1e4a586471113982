"""TiledDetector: run a detector on overlapping tiles of a large frame, as well as on the whole frame.

A detector with a small fixed input (BlazeFace: 128 or 192 px) shrinks a 4K
frame 20-30 times, and a face of 100 px becomes 4 px: it is lost. Tiles keep
faces large enough, and the whole-frame pass still finds faces larger than a
tile. Detections from all passes are merged: boxes that overlap (IoU) or that
lie mostly inside a higher-scoring box (a face cut at a tile's edge) are dropped.
"""

from __future__ import annotations

import numpy as np

from mer_tf.faces.box import Box


def tile_origins(length: int, tile: int, step: int) -> list[int]:
    """Start offsets of tiles of ``tile`` px every ``step`` px covering ``length`` px (the last one flush)."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def merge_boxes(boxes: list[Box], iou: float = 0.3, inside: float = 0.6) -> list[Box]:
    """Greedy merge by score: drop a box overlapping a kept one by IoU > ``iou``, or with more than
    ``inside`` of its own area inside a kept one."""
    kept: list[Box] = []
    for b in sorted(boxes, key=lambda b: -b.score):
        dup = False
        for k in kept:
            ix = max(0.0, min(b.x1, k.x1) - max(b.x0, k.x0))
            iy = max(0.0, min(b.y1, k.y1) - max(b.y0, k.y0))
            inter = ix * iy
            smaller = min(b.area, k.area)
            if b.iou(k) > iou or (smaller > 0 and inter / smaller > inside):
                dup = True
                break
        if not dup:
            kept.append(b)
    return kept


class TiledDetector:
    """A face detector that also looks at overlapping tiles of frames larger than a tile.

    Args:
        detector: any ``detect(image) -> list[Box]`` detector.
        tile: tile side in pixels. Frames whose longer side is at most
            ``1.25 * tile`` are passed whole (tiling would gain little).
        overlap: fraction of a tile shared with its neighbour; a face smaller
            than ``overlap * tile`` lies whole inside at least one tile.
        whole_frame: also run on the whole frame (finds faces larger than a tile).

    Example:
        >>> det = TiledDetector(create_detector("blazeface-full"), tile=960)
        >>> boxes = det.detect(frame_4k)
    """

    def __init__(self, detector, tile: int = 640, overlap: float = 0.25, whole_frame: bool = True):
        if tile < 64:
            raise ValueError(f"`tile` must be >= 64 px. Received: tile={tile}")
        if not 0.0 <= overlap < 0.9:
            raise ValueError(f"`overlap` must be in [0, 0.9). Received: overlap={overlap}")
        self.detector = detector
        self.tile = int(tile)
        self.overlap = float(overlap)
        self.whole_frame = whole_frame
        self.name = f"{detector.name}+tiles"
        self.last_tiles = 0  # tiles run on the last frame (0: the frame was passed whole)

    def detect(self, image: np.ndarray) -> list[Box]:
        """Faces in a uint8 BGR (H, W, 3) or gray (H, W) image, highest score first."""
        h, w = image.shape[:2]
        if max(h, w) <= 1.25 * self.tile:
            self.last_tiles = 0
            return self.detector.detect(image)
        boxes = list(self.detector.detect(image)) if self.whole_frame else []
        # A side at most 1.25 tiles long is taken whole (a 3840x2160 frame: one row of 2160 px high
        # tiles, 3 tiles instead of 6); the detector letterboxes any shape.
        tw = w if w <= 1.25 * self.tile else self.tile
        th = h if h <= 1.25 * self.tile else self.tile
        n = 0
        for y0 in tile_origins(h, th, max(1, int(round(th * (1.0 - self.overlap))))):
            for x0 in tile_origins(w, tw, max(1, int(round(tw * (1.0 - self.overlap))))):
                crop = image[y0:y0 + th, x0:x0 + tw]
                for b in self.detector.detect(crop):
                    boxes.append(Box(b.x0 + x0, b.y0 + y0, b.x1 + x0, b.y1 + y0, b.score))
                n += 1
        self.last_tiles = n
        return merge_boxes(boxes)
