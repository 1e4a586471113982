"""A seed ensemble: one model that averages several independently trained fits."""

from __future__ import annotations

from mer_tf.layers import LogSoftmax
from mer_tf.layers.backend import keras

SUFFIX = "_ensemble"
MEMBER = "_member"


def member_seed(seed: int, k: int) -> int:
    """The seed of member `k` of a fit seeded `seed`: member 0 is the single fit itself.

    1000 apart, so the members of seed s never coincide with the single fits
    of the neighbouring seeds s + 1, s + 2, ... that a LOSO reports beside it.
    """
    return int(seed) + 1000 * int(k)


def ensemble(members, name: str | None = None):
    """One model averaging the log-probabilities of `members` (a geometric mean, renormalized).

    The same combination `flip_average` uses for the mirror: the mean of the
    members' log-probabilities, put back through LogSoftmax. One graph, so
    `mer export` converts it whole and the edge runtime runs it unchanged,
    at K times the CNN cost. Each member is kept as an inner model named
    `<name>_member<k>` (`members_of`), its trained layers shared, not copied.

    Args:
        members: two or more trained models with the same input and output
            shapes, ending in log-probabilities.
        name: the model's name (default `<first member's name>_ensemble`).
    """
    members = list(members)
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least 2 members. Received: {len(members)}")
    shapes = {(tuple(m.inputs[0].shape[1:]), tuple(m.outputs[0].shape[1:])) for m in members}
    if len(shapes) != 1:
        raise ValueError(f"ensemble members must share input and output shapes. Received: {sorted(shapes)}")
    base = members[0].name
    wrapped = [keras.Model(m.inputs[0], m.outputs[0], name=f"{base}{MEMBER}{k}") for k, m in enumerate(members)]
    inputs = keras.Input(shape=tuple(members[0].inputs[0].shape[1:]), name=f"{base}_ensemble_input")
    outs = [w(inputs) for w in wrapped]
    mean = keras.layers.Average(name=f"{base}_ensemble_mean")(outs)
    outputs = LogSoftmax(name=f"{base}_ensemble_log_softmax")(mean)
    return keras.Model(inputs, outputs, name=name or base + SUFFIX)


def members_of(model) -> list:
    """The member models of an `ensemble` (looked for inside a `flip_average` wrapper too); [] for none."""
    from mer_tf.models.flip_average import unwrap

    inner = unwrap(model)
    found = [layer for layer in inner.layers if isinstance(layer, keras.Model) and MEMBER in layer.name]
    return sorted(found, key=lambda m: int(m.name.rsplit(MEMBER, 1)[1]))
