"""The feature cache and the tf.data pipeline."""

import numpy as np
import pytest
import tensorflow as tf

from mer_tf.data import FeatureStore, InputSpec
from mer_tf.data.tf_dataset import Augmentation, _augment, arrays_dataset, class_weights, make_dataset
from mer_tf.preprocess import FacePreprocessParams
from test_training_helpers import make_samples


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return make_samples(tmp_path_factory.mktemp("pipe"), subjects=2)


def test_cache_is_computed_once_and_keyed_by_params(samples, tmp_path):
    store = FeatureStore(InputSpec(), tmp_path)
    paths = store.ensure(samples[:2], progress=False)
    assert all(p.is_file() for p in paths)
    stamp = paths[0].stat().st_mtime_ns
    f = store.load(samples[0])
    assert paths[0].stat().st_mtime_ns == stamp  # read, not recomputed
    assert f.image.shape == (64, 64, 3) and f.image.dtype == np.float32
    assert f.apex_landmarks.shape == (68, 2) and f.neutral_landmarks.shape == (68, 2)
    assert f.face_found and {"detect", "landmarks", "preprocess"} <= set(f.ms)
    # the neutral (onset) face and the apex differ: the clip moves
    assert not np.allclose(f.apex_landmarks, f.neutral_landmarks)
    small = FeatureStore(InputSpec(preprocess=FacePreprocessParams(size=32).to_dict()), tmp_path)
    assert small.root != store.root
    assert small.load(samples[0]).image.shape == (32, 32, 3)
    flow = FeatureStore(InputSpec(mode="flow"), tmp_path)
    assert flow.root != store.root


def test_bad_spec_values_are_named():
    with pytest.raises(ValueError, match="'video'"):
        InputSpec(mode="video")
    with pytest.raises(ValueError, match="'exact'"):
        InputSpec(landmarks="exact")


def test_make_dataset_batches_and_matches_arrays(samples, tmp_path):
    store = FeatureStore(InputSpec(), tmp_path)
    paths = store.ensure(samples, progress=False)
    labels = list(range(len(samples)))
    ds = make_dataset(paths, labels, batch_size=4)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    x = np.concatenate(xs)
    assert x.shape == (len(samples), 64, 64, 3) and xs[0].shape[0] == 4
    assert np.concatenate(ys).tolist() == labels  # evaluation order is kept
    ref = np.stack([store.load(s).image for s in samples])
    np.testing.assert_array_equal(x, ref)
    mem = np.concatenate([b[0].numpy() for b in arrays_dataset(ref, np.array(labels), batch_size=4)])
    np.testing.assert_array_equal(mem, ref)
    train = make_dataset(paths, labels, batch_size=len(samples), training=True, seed=1)
    order = np.concatenate([y.numpy() for _, y in train])
    assert sorted(order.tolist()) == labels  # shuffled, nothing lost
    with pytest.raises(ValueError, match="one label per file"):
        make_dataset(paths, labels[:-1], batch_size=4)


def test_flow_flip_negates_horizontal_motion():
    tf.random.set_seed(0)
    u = np.ones((16, 16, 3), np.float32) * np.array([0.5, 0.2, 0.1], np.float32)
    aug = Augmentation(flip=True, max_rotation_deg=0, max_shift=0, brightness=0, contrast=0)
    seen = set()
    for i in range(20):
        out = _augment(tf.constant(u), aug, "flow", tf.constant(i, tf.int64)).numpy()
        seen.add(round(float(out[8, 8, 0]), 3))
        assert out[8, 8, 1] == pytest.approx(0.2) and out[8, 8, 2] == pytest.approx(0.1)
    assert seen == {0.5, -0.5}


def test_flow_rotation_turns_the_vectors():
    field = np.zeros((33, 33, 3), np.float32)
    field[..., 0] = 1.0  # uniform rightward motion
    aug = Augmentation(flip=False, max_rotation_deg=20, max_shift=0, brightness=0, contrast=0)
    out = _augment(tf.constant(field), aug, "flow", tf.constant(1, tf.int64)).numpy()
    centre = out[16, 16]
    assert np.hypot(centre[0], centre[1]) == pytest.approx(1.0, abs=1e-4)  # length kept


def test_apex_augmentation_keeps_shape_and_changes_pixels():
    x = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    out = _augment(tf.constant(x), Augmentation(), "apex", tf.constant(1, tf.int64)).numpy()
    assert out.shape == x.shape and not np.allclose(out, x)


@pytest.mark.parametrize("mixup", [0.0, 0.4])
def test_the_same_seed_gives_the_same_batches_every_build_and_new_ones_every_epoch(mixup):
    """Augmentation and mixup draw statelessly from per-element seeds: a parallel map cannot reorder them."""
    from mer_tf.data.tf_dataset import SoftTargets

    x = np.random.default_rng(0).random((40, 16, 16, 3)).astype(np.float32)
    y = np.arange(40) % 3
    soft = SoftTargets(3, mixup=mixup) if mixup else None

    def epochs(seed):
        ds = arrays_dataset(x, y, batch_size=8, mode="flow", training=True, seed=seed, soft=soft)
        return [np.concatenate([b[0].numpy() for b in ds]) for _ in range(2)]

    first, again, other = epochs(3), epochs(3), epochs(4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], first[1])  # a new epoch, new draws
    assert not np.allclose(first[0], other[0])  # another seed, other draws


def test_class_weights_inverse_frequency():
    w = class_weights([0, 0, 0, 1], 3)
    assert w[0] == pytest.approx(4 / (2 * 3)) and w[1] == pytest.approx(4 / (2 * 1)) and w[2] == 1.0


def test_soft_targets_smooth_mix_and_carry_the_class_weights():
    from mer_tf.data.tf_dataset import SoftTargets

    rng = np.random.default_rng(0)
    images = rng.random((8, 8, 8, 3), dtype=np.float32)
    labels = np.array([0, 0, 0, 0, 0, 1, 2, 2])
    weights = class_weights(labels, 3)
    plain = arrays_dataset(images, labels, batch_size=8, training=True, augmentation=Augmentation.none(),
                           seed=3).element_spec
    assert len(plain) == 2  # integer labels: no weights in the batch
    smooth = SoftTargets(3, label_smoothing=0.1, class_weights=tuple(weights.values()))
    x, y, w = next(iter(arrays_dataset(images, labels, batch_size=8, training=True,
                                       augmentation=Augmentation.none(), seed=3, soft=smooth)))
    y, w = y.numpy(), w.numpy()
    hard = y.argmax(1)
    np.testing.assert_allclose(y.max(1), 0.9 + 0.1 / 3, rtol=1e-6)
    np.testing.assert_allclose(y.min(1), 0.1 / 3, rtol=1e-6)
    np.testing.assert_allclose(w, [weights[int(c)] for c in hard], rtol=1e-6)  # the class weight of each label
    # the images are untouched by smoothing: each is one of the inputs
    assert all(np.any(np.all(np.isclose(images, xi), axis=(1, 2, 3))) for xi in x.numpy())

    tf.random.set_seed(5)
    mixed = SoftTargets(3, mixup=0.4, class_weights=tuple(weights.values()))
    x, y, w = next(iter(arrays_dataset(images, labels, batch_size=8, training=True,
                                       augmentation=Augmentation.none(), seed=3, soft=mixed)))
    x, y, w = x.numpy(), y.numpy(), w.numpy()
    np.testing.assert_allclose(y.sum(1), 1.0, rtol=1e-6)
    assert np.any((y > 1e-6) & (y < 1 - 1e-6))  # blended targets (lam ~ Beta(0.4, 0.4) is almost never 0 or 1)
    # every image is lam * one input + (1 - lam) * another, with the same lam as its target and weight
    w_of = np.array([weights[c] for c in range(3)])
    onehot = np.eye(3)[labels]
    solved = 0
    for xi, yi, wi in zip(x, y, w):
        for i in range(8):
            for j in range(8):
                lam = 1.0 if i == j else None
                if lam is None:
                    d = (images[i] - images[j]).ravel()
                    lam = float(np.dot(xi.ravel() - images[j].ravel(), d) / np.dot(d, d))
                if np.allclose(lam * images[i] + (1 - lam) * images[j], xi, atol=1e-5):
                    if np.allclose(lam * onehot[i] + (1 - lam) * onehot[j], yi, atol=1e-5):
                        assert wi == pytest.approx(lam * w_of[labels[i]] + (1 - lam) * w_of[labels[j]], rel=1e-5)
                        solved += 1
                        break
            else:
                continue
            break
    assert solved == 8
    with pytest.raises(ValueError, match="training batches only"):
        arrays_dataset(images, labels, batch_size=8, soft=mixed)
