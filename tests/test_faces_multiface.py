"""Faces wherever they are: full-range BlazeFace and tiling on real group photos (22 faces, boxed by
eye in benchmarks/multiface_truth.json; the photos come from an npm package at install time)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mer_tf.faces import create_detector
from mer_tf.faces.blazeface_detector import ssd_anchors
from mer_tf.faces.box import Box
from mer_tf.faces.sample_photos import load_multiface_photos
from mer_tf.faces.tiled_detector import TiledDetector, merge_boxes, tile_origins

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_faces  # noqa: E402  (the benchmark's frame kinds and scoring, tested here)

TRUTH = json.loads(bench_faces.TRUTH.read_text())["photos"]


@pytest.fixture(scope="module")
def photos():
    return load_multiface_photos()


def _count(detector, photos, kind):
    found = false = 0
    for name, photo in photos.items():
        frame, scale, (ox, oy) = bench_faces.frames(photo, kind)
        truth = [Box(a * scale + ox, b * scale + oy, c * scale + ox, d * scale + oy) for a, b, c, d in TRUTH[name]["faces"]]
        hits, wrong = bench_faces.score(detector.detect(frame), truth)
        found, false = found + hits, false + wrong
    return found, false


def test_full_range_anchors_match_mediapipe():
    assert ssd_anchors(192, (4,), interpolated=False).shape == (2304, 2)
    assert ssd_anchors().shape == (896, 2)


def test_default_detector_finds_every_face_in_the_group_photos(photos):
    assert sum(len(t["faces"]) for t in TRUTH.values()) == 22
    det = create_detector("blazeface-full", tile=1920)
    found, false = _count(det, photos, "photo")
    # dlib HOG finds 19 (benchmarks/bench_faces.py); two faces are near full range's threshold at
    # 1920 px (found with a two-step shrink, missed with one), so 20 is what the default must reach
    assert found >= 20 and false == 0
    assert _count(create_detector("blazeface-full", tile=960), photos, "photo") == (22, 0)
    # the short-range model, made for faces near the camera, misses about a third here
    assert _count(create_detector("blazeface"), photos, "photo")[0] <= 16


def test_tiles_find_far_faces_in_4k_frames(photos):
    full = create_detector("blazeface-full")
    tiled = create_detector("blazeface-full", tile=1920)
    whole, _ = _count(full, photos, "4k_far")
    found, false = _count(tiled, photos, "4k_far")
    assert found >= 21 and false == 0
    assert whole <= found - 4  # the same faces, far: the whole frame alone loses them


def test_tile_origins_cover_the_frame_with_overlap():
    assert tile_origins(500, 640, 480) == [0]
    assert tile_origins(3840, 1920, 1440) == [0, 1440, 1920]
    starts = tile_origins(2160, 960, 720)
    assert starts[0] == 0 and starts[-1] + 960 == 2160 and all(b - a <= 720 for a, b in zip(starts, starts[1:]))


def test_merge_drops_overlaps_and_faces_cut_at_tile_edges():
    face = Box(100, 100, 200, 200, 0.9)
    same = Box(105, 102, 204, 199, 0.8)
    half = Box(100, 100, 150, 200, 0.7)  # a face cut by a tile's edge: mostly inside the full box
    other = Box(400, 100, 500, 200, 0.6)
    assert merge_boxes([half, same, other, face]) == [face, other]


def test_tiled_detector_passes_small_frames_whole_and_tiles_big_ones():
    class Recorder:
        name = "rec"

        def __init__(self):
            self.shapes = []

        def detect(self, image):
            self.shapes.append(image.shape[:2])
            return [Box(10, 10, 50, 50, 0.9)]

    rec = Recorder()
    det = TiledDetector(rec, tile=640)
    assert len(det.detect(np.zeros((480, 640, 3), np.uint8))) == 1 and det.last_tiles == 0
    rec.shapes.clear()
    boxes = det.detect(np.zeros((2160, 3840, 3), np.uint8))
    assert rec.shapes[0] == (2160, 3840) and set(rec.shapes[1:]) == {(640, 640)} and det.last_tiles == len(rec.shapes) - 1
    rec.shapes.clear()
    TiledDetector(rec, tile=1920).detect(np.zeros((2160, 3840, 3), np.uint8))  # one row: 2160 <= 1.25 x 1920
    assert rec.shapes == [(2160, 3840), (2160, 1920), (2160, 1920), (2160, 1920)]
    assert all(b.x1 <= 3840 and b.y1 <= 2160 for b in boxes)
    with pytest.raises(ValueError, match="tile"):
        TiledDetector(rec, tile=10)
