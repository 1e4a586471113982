"""`--centre-flow` and `--standardize-flow`: the release's flow images re-scaled image by image."""

from __future__ import annotations

import numpy as np
import pytest
from megc2019_tree import build_release

from mer_tf.data.feature_store import FeatureStore, read_flow_image
from mer_tf.data.flow_scaling import centre_flow, standardize_flow
from mer_tf.data.input_spec import InputSpec
from mer_tf.training.config import TrainConfig


def _raw_flow(seed=0, side=28):
    """u, v, strain in their own units: each with its own offset and scale."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=(side, side, 3)) * rng.uniform(0.5, 4.0, size=3) + rng.normal(scale=3.0, size=3)
    raw[..., 2] = np.abs(raw[..., 2])
    return raw


def _minmax(raw):
    lo, hi = raw.min(axis=(0, 1)), raw.max(axis=(0, 1))
    return ((raw - lo) / (hi - lo)).astype(np.float32)


def _minmax_image(seed=0, side=28):
    """A flow image as the release ships it: every channel min-max scaled to 0..1, each with its own zero level."""
    return _minmax(_raw_flow(seed, side))


def test_u_and_v_are_centred_on_their_medians_and_strain_is_kept():
    image = _minmax_image()
    before = image.copy()
    centred = centre_flow(image)
    np.testing.assert_array_equal(image, before)  # the input is not changed in place
    np.testing.assert_allclose(np.median(centred[..., :2], axis=(0, 1)), [0.0, 0.0], atol=1e-6)
    np.testing.assert_array_equal(centred[..., 2], image[..., 2])
    np.testing.assert_allclose(centred[..., :2] - image[..., :2],
                               np.broadcast_to(-np.median(image[..., :2], axis=(0, 1)), (28, 28, 2)), atol=1e-6)


def test_standardized_channels_are_z_scores_whatever_the_min_max_scaling_was():
    raw = _raw_flow(2)
    z = standardize_flow(_minmax(raw))
    np.testing.assert_allclose(np.median(z, axis=(0, 1)), [0.0, 0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1)), [1.0, 1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(z, standardize_flow(raw.astype(np.float32)), atol=1e-4)  # the scaling is undone
    assert np.abs(centre_flow(_minmax(raw)) - centre_flow(raw.astype(np.float32))).max() > 0.1  # centring alone is not
    flat = _minmax_image(3)
    flat[..., 2] = 0.25
    np.testing.assert_array_equal(standardize_flow(flat)[..., 2], 0.0)  # no spread: only centred


@pytest.mark.parametrize("rescale", [centre_flow, standardize_flow])
@pytest.mark.parametrize("side", [28, 27])  # an even and an odd pixel count: the median of two values, of one
def test_a_rescaled_mirror_image_is_the_rescaled_image_mirrored_as_a_signed_flow_field(side, rescale):
    """So the flips and --flip-average stay exact: they mirror a re-scaled image as 'flow' (u -> -u)."""
    from mer_tf.layers.mirror import Mirror

    image = _minmax_image(1, side)
    shipped_mirror = image[:, ::-1] * np.array([-1.0, 1.0, 1.0], np.float32) + np.array([1.0, 0.0, 0.0], np.float32)
    np.testing.assert_allclose(np.asarray(Mirror("flow_image")(image[None]))[0], shipped_mirror, atol=1e-6)
    np.testing.assert_allclose(rescale(shipped_mirror), np.asarray(Mirror("flow")(rescale(image)[None]))[0],
                               atol=1e-5)


def test_the_option_is_for_the_shipped_flow_image_only_and_keeps_old_cache_keys():
    plain = InputSpec(mode="flow_image")
    centred = InputSpec(mode="flow_image", centre_flow=True)
    assert plain.key() != centred.key()
    d = plain.to_dict()
    d.pop("centre_flow")
    assert InputSpec.from_dict(d).key() == plain.key()  # specs saved before the option read the same cache
    assert InputSpec.from_dict(centred.to_dict()).to_dict() == centred.to_dict()  # input.json round trip
    assert (plain.image_kind, centred.image_kind) == ("flow_image", "flow")
    assert (plain.flow_scaling, centred.flow_scaling) == (None, "centre")
    with pytest.raises(ValueError, match="input 'apex' has none"):
        InputSpec(mode="apex", centre_flow=True)
    with pytest.raises(ValueError, match="input 'apex' has none. Use input 'flow_image' or drop centre_flow"):
        TrainConfig(dataset="megc2019", input="apex", centre_flow=True)
    with pytest.raises(ValueError, match="centre_flow='yes'"):
        TrainConfig(dataset="megc2019", centre_flow="yes")
    config = TrainConfig(dataset="megc2019", centre_flow=True)
    assert config.input_spec().centre_flow and config.input_name == "flow_image, centred"
    assert config.image_kind == "flow" and TrainConfig(dataset="megc2019").image_kind == "flow_image"
    standardized = InputSpec(mode="flow_image", standardize_flow=True)
    assert len({plain.key(), centred.key(), standardized.key()}) == 3 and standardized.image_kind == "flow"
    assert standardized.flow_scaling == "standardize"
    assert InputSpec.from_dict(standardized.to_dict()).to_dict() == standardized.to_dict()
    with pytest.raises(ValueError, match="input 'apex' has none. Use input 'flow_image' or drop standardize_flow"):
        TrainConfig(dataset="megc2019", input="apex", standardize_flow=True)
    with pytest.raises(ValueError, match="choose one"):
        TrainConfig(dataset="megc2019", centre_flow=True, standardize_flow=True)
    config = TrainConfig(dataset="megc2019", standardize_flow=True)
    assert config.input_name == "flow_image, standardized" and config.image_kind == "flow"


def test_the_cached_input_is_the_centred_release_image(tmp_path):
    release = build_release(tmp_path / "release")
    config = TrainConfig(data=str(release), dataset="megc2019", size=28, detector="blazeface",
                         cache_dir=str(tmp_path / "cache"), centre_flow=True)
    from mer_tf.training.samples import load_samples

    sample = load_samples(config)[0]
    features = FeatureStore(config.input_spec(), config.cache_dir).load(sample)
    shipped = read_flow_image(sample, 28)
    np.testing.assert_array_equal(features.image, centre_flow(shipped))
    assert np.abs(np.median(shipped[..., :2], axis=(0, 1))).min() > 0.01  # the test would not see a no-op
    big = FeatureStore(InputSpec(mode="flow_image", preprocess={"size": 56}, detector="blazeface", centre_flow=True),
                       tmp_path / "cache").load(sample)
    np.testing.assert_allclose(np.median(big.image[..., :2], axis=(0, 1)), [0.0, 0.0], atol=1e-6)  # after resizing
    z = FeatureStore(InputSpec(mode="flow_image", preprocess={"size": 28}, detector="blazeface",
                               standardize_flow=True), tmp_path / "cache").load(sample)
    np.testing.assert_array_equal(z.image, standardize_flow(shipped))
    with pytest.raises(ValueError, match="Unknown flow image scaling 'zscore'"):
        read_flow_image(sample, 28, scaling="zscore")


def test_the_flags_set_and_clear_it(tmp_path):
    import argparse

    from mer_tf.commands.train import add_common_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    assert config_from_args(parser.parse_args(["--dataset", "megc2019", "--centre-flow"])).centre_flow is True
    yaml_config = tmp_path / "c.yaml"
    yaml_config.write_text("dataset: megc2019\ncentre_flow: true\n")
    assert config_from_args(parser.parse_args(["--config", str(yaml_config)])).centre_flow is True
    assert config_from_args(parser.parse_args(["--config", str(yaml_config), "--no-centre-flow"])).centre_flow is False
    both = config_from_args(parser.parse_args(["--config", str(yaml_config), "--no-centre-flow", "--standardize-flow"]))
    assert (both.centre_flow, both.standardize_flow, both.image_kind) == (False, True, "flow")
