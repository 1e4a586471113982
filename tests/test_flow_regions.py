"""HTNet's input: flow blocks around the eyes and mouth corners, tiled (`--flow-regions eyes_mouth`)."""

from __future__ import annotations

import numpy as np
import pytest
from megc2019_tree import build_release

from mer_tf.data.feature_store import FeatureStore, read_flow_image
from mer_tf.data.flow_regions import eyes_mouth_mosaic, region_centres
from mer_tf.data.input_spec import InputSpec
from mer_tf.datasets.synthetic.source_faces import MIRROR
from mer_tf.training.config import TrainConfig


def _landmarks(eye_l, eye_r, mouth_l, mouth_r, scale=1.0):
    """68 points with the eye centres and mouth corners at the given (x, y), times `scale`."""
    lm = np.full((68, 2), 100.0)
    lm[36:42] = np.array(eye_l) + np.array([[-3, 0], [-1, -1], [1, -1], [3, 0], [1, 1], [-1, 1]])
    lm[42:48] = np.array(eye_r) + np.array([[-3, 0], [-1, -1], [1, -1], [3, 0], [1, 1], [-1, 1]])
    lm[48], lm[54] = mouth_l, mouth_r
    return lm * scale


def _coordinate_image(side=28):
    """(side, side, 3): channel 0 the row, channel 1 the column, channel 2 their sum."""
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float32)
    return np.stack([rows, cols, rows + cols], axis=-1)


def test_blocks_are_cut_around_the_scaled_landmarks_and_tiled_eyes_over_mouth():
    flow = _coordinate_image()
    # found on a 224 px crop: 8x the flow image's pixels
    lm = _landmarks((9, 8), (19, 9), (10, 20), (18, 19), scale=8.0)
    mosaic = eyes_mouth_mosaic(flow, lm, (224, 224))
    assert mosaic.shape == (28, 28, 3)
    expected = {(0, 0): (8, 9), (0, 1): (9, 19), (1, 0): (20, 10), (1, 1): (19, 18)}  # tile -> centre (row, col)
    for (ti, tj), (r, c) in expected.items():
        block = mosaic[ti * 14:(ti + 1) * 14, tj * 14:(tj + 1) * 14]
        assert block[0, 0, 0] == r - 7 and block[0, 0, 1] == c - 7  # top-left pixel of the block
        assert block[-1, -1, 0] == r + 6 and block[-1, -1, 1] == c + 6


def test_centres_are_clipped_so_that_every_block_lies_inside_the_image():
    flow = _coordinate_image()
    lm = _landmarks((1, 2), (27, 3), (0, 27), (30, 30))  # at and beyond the edges, landmarks in flow pixels
    mosaic = eyes_mouth_mosaic(flow, lm, (28, 28))
    assert mosaic[:, :, 0].min() == 0 and mosaic[:, :, 0].max() == 27
    assert mosaic[:14, :14, 0][0, 0] == 0 and mosaic[:14, :14, 1][0, 0] == 0  # centre (7, 7): HTNet's clip to [7, 21]
    assert mosaic[14:, 14:, 0][-1, -1] == 27 and mosaic[14:, 14:, 1][-1, -1] == 27  # centre (21, 21)


def test_the_mosaic_of_a_mirrored_face_is_the_mirrored_mosaic():
    """So the flip augmentation and the mirror averaging stay valid on this input."""
    rng = np.random.default_rng(0)
    flow = rng.random((28, 28, 3)).astype(np.float32)
    lm = _landmarks((9, 8), (18, 10), (10, 20), (17, 19))
    # a block [c - 7, c + 7) of columns mirrors to [28 - c - 7, 28 - c + 7): the mirrored centre is 28 - c
    mirrored = lm[MIRROR].copy()
    mirrored[:, 0] = 28 - mirrored[:, 0]
    np.testing.assert_array_equal(eyes_mouth_mosaic(flow[:, ::-1], mirrored, (28, 28)),
                                  eyes_mouth_mosaic(flow, lm, (28, 28))[:, ::-1])


def test_region_centres_need_68_finite_landmarks():
    with pytest.raises(ValueError, match=r"shape \(68, 2\)"):
        region_centres(np.zeros((5, 2)))
    lm = _landmarks((9, 8), (19, 9), (10, 20), (18, 19))
    lm[50] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        region_centres(lm)


def test_the_option_is_for_the_shipped_flow_image_only_and_keeps_old_cache_keys():
    whole = InputSpec(mode="flow_image")
    regions = InputSpec(mode="flow_image", flow_regions="eyes_mouth")
    assert whole.key() != regions.key()
    d = whole.to_dict()
    d.pop("flow_regions")
    assert InputSpec.from_dict(d).key() == whole.key()  # specs saved before the option read the same cache
    assert InputSpec.from_dict(regions.to_dict()).to_dict() == regions.to_dict()  # input.json round trip
    with pytest.raises(ValueError, match="input 'apex' has none"):
        InputSpec(mode="apex", flow_regions="eyes_mouth")
    with pytest.raises(ValueError, match="Unknown flow regions 'nose'"):
        InputSpec(mode="flow_image", flow_regions="nose")
    with pytest.raises(ValueError, match="input 'apex' has none"):
        TrainConfig(dataset="megc2019", input="apex", flow_regions="eyes_mouth")
    with pytest.raises(ValueError, match="Unknown flow regions 'mouth'"):
        TrainConfig(flow_regions="mouth")
    config = TrainConfig(dataset="megc2019", flow_regions="eyes_mouth")
    assert config.input_spec().flow_regions == "eyes_mouth" and config.input_name == "flow_image, eyes_mouth"


def test_the_cached_input_is_the_mosaic_of_the_release_flow_image(tmp_path):
    import cv2

    release = build_release(tmp_path / "release")
    config = TrainConfig(data=str(release), dataset="megc2019", size=28, detector="blazeface",
                         cache_dir=str(tmp_path / "cache"), flow_regions="eyes_mouth")
    from mer_tf.training.samples import load_samples

    sample = load_samples(config)[0]
    features = FeatureStore(config.input_spec(), config.cache_dir).load(sample)
    apex = cv2.imread(str(sample.frames[sample.apex]))
    whole = read_flow_image(sample, 28)
    expected = eyes_mouth_mosaic(whole, features.apex_landmarks, apex.shape[:2])
    np.testing.assert_array_equal(features.image, expected)
    assert not np.array_equal(features.image, whole)  # noise faces: the blocks are not the quadrants
    big = FeatureStore(InputSpec(mode="flow_image", preprocess={"size": 56}, detector="blazeface",
                                 flow_regions="eyes_mouth"), tmp_path / "cache").load(sample)
    assert big.image.shape == (56, 56, 3)  # cut at 28 px, then resized


def test_mer_loso_takes_the_flag():
    import argparse

    from mer_tf.commands.train import add_common_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    args = parser.parse_args(["--dataset", "megc2019", "--flow-regions", "eyes_mouth"])
    assert config_from_args(args).input_spec().flow_regions == "eyes_mouth"
    with pytest.raises(SystemExit):
        parser.parse_args(["--flow-regions", "nose"])
