"""A LOSO worker's reused model starts every fold as a fresh build does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from mer_tf.training import TrainConfig  # noqa: E402
from mer_tf.training.fit import _state_variables, configure_tensorflow, reusable_model  # noqa: E402


def _config(**kw) -> TrainConfig:
    base = {"data": "unused", "dataset": "synthetic", "model": "eccnn", "pooling": 3, "size": 24,
            "classes": "megc3", "input": "flow_image", "learning_rate": 1e-2}
    return TrainConfig.from_dict({**base, **kw})


def _state(model) -> list[np.ndarray]:
    return [np.array(v.numpy()) for v in _state_variables(model)]


def test_reused_model_is_reset_to_its_first_build_after_training():
    config = _config()
    configure_tensorflow(1, config.seed)
    model = reusable_model(config, (24, 24, 3), steps_per_execution=2)
    start = _state(model)
    x = np.random.default_rng(0).random((16, 24, 24, 3), dtype=np.float32)
    y = np.arange(16) % 3
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    trained = _state(model)
    assert int(model.optimizer.iterations.numpy()) > 0
    assert any(not np.array_equal(a, b) for a, b in zip(start, trained))  # training moved something

    again = reusable_model(config, (24, 24, 3), steps_per_execution=2)
    assert again is model  # the traced functions are kept
    assert int(again.optimizer.iterations.numpy()) == 0
    for a, b in zip(start, _state(again)):
        np.testing.assert_array_equal(a, b)


def test_reused_model_matches_a_fresh_build_with_the_same_seed():
    from mer_tf.training.fit import build

    config = _config(seed=3)
    configure_tensorflow(1, config.seed)
    fresh = build(config, (24, 24, 3))
    configure_tensorflow(1, config.seed)
    reused = reusable_model(config, (24, 24, 3), steps_per_execution=1)
    for a, b in zip(fresh.get_weights(), reused.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_another_config_gets_another_model():
    configure_tensorflow(1, 0)
    a = reusable_model(_config(), (24, 24, 3), steps_per_execution=1)
    b = reusable_model(_config(local_region=False), (24, 24, 3), steps_per_execution=1)
    assert a is not b
    assert len(a.get_weights()) != len(b.get_weights())
