"""Every branch of the fusion table (paper Fig. 6) and custom tables."""

import itertools

import pytest

from mer_tf.fusion import (
    CNN_STANDS, CONFIRMED, ECRL_CHOSEN, ECRL_WINS, KEPT, NO_VERDICT, PAPER_TABLE, FusionPolicy,
)
from mer_tf.labels import CLASSES

POSITIVE = ("Neutral", "Happy", "Surprise")
NEGATIVE = ("Angry", "Fear", "Disgust", "Sad")


def paper_expected(cnn, ecrl):
    """The paper's rule, written out independently of the table."""
    if cnn in POSITIVE:
        return cnn, KEPT
    if ecrl is None:
        return cnn, NO_VERDICT
    if ecrl == cnn:
        return cnn, CONFIRMED
    if "Disgust" in (cnn, ecrl):
        return ecrl, ECRL_WINS
    return cnn, CNN_STANDS


@pytest.mark.parametrize("cnn, ecrl", list(itertools.product(CLASSES, (None,) + CLASSES)))
def test_paper_policy_every_pair(cnn, ecrl):
    assert FusionPolicy.paper().fuse(cnn, ecrl) == paper_expected(cnn, ecrl)


@pytest.mark.parametrize(
    "cnn, ecrl, expected",
    [
        ("Happy", "Disgust", ("Happy", KEPT)),  # positive: ECRL is not asked
        ("Surprise", None, ("Surprise", KEPT)),
        ("Sad", "Sad", ("Sad", CONFIRMED)),
        ("Angry", "Fear", ("Angry", CNN_STANDS)),  # disagreement: the CNN stands
        ("Fear", "Happy", ("Fear", CNN_STANDS)),
        ("Sad", "Disgust", ("Disgust", ECRL_WINS)),  # ECRL says Disgust: ECRL wins
        ("Disgust", "Angry", ("Angry", ECRL_WINS)),  # CNN says Disgust, ECRL disagrees: ECRL wins
        ("Disgust", None, ("Disgust", NO_VERDICT)),  # no rule fired: the CNN stands
    ],
)
def test_paper_policy_named_branches(cnn, ecrl, expected):
    policy = FusionPolicy.paper()
    assert policy.fuse(cnn, ecrl) == expected
    assert policy.needs_ecrl(cnn) == (cnn in NEGATIVE)


def test_other_policies_are_other_tables():
    assert all(FusionPolicy.cnn_only().fuse(c, "Disgust") == (c, KEPT) for c in CLASSES)
    check_all = FusionPolicy.check_all()
    assert check_all.fuse("Happy", "Sad") == ("Happy", CNN_STANDS)
    assert check_all.fuse("Happy", "Disgust") == ("Disgust", ECRL_WINS)
    table = {"name": "trust_ecrl_on_fear", "cnn": {**PAPER_TABLE["cnn"], "Fear": "ecrl"}, "ecrl_wins": []}
    policy = FusionPolicy.from_table(table)
    assert policy.fuse("Fear", "Surprise") == ("Surprise", ECRL_CHOSEN)
    assert policy.fuse("Fear", "Fear") == ("Fear", CONFIRMED)
    assert policy.fuse("Fear", None) == ("Fear", NO_VERDICT)
    assert policy.fuse("Sad", "Disgust") == ("Sad", CNN_STANDS)  # no ecrl_wins in this table
    assert FusionPolicy.from_table(policy.to_table()) == policy
    assert FusionPolicy.named("paper") == FusionPolicy.paper()


@pytest.mark.parametrize(
    "table, match",
    [
        ({"cnn": {"Happy": "keep"}}, "missing"),
        ({"cnn": {**PAPER_TABLE["cnn"], "Contempt": "keep"}}, "unknown"),
        ({"cnn": {**PAPER_TABLE["cnn"], "Sad": "ask"}}, "actions"),
        ({"cnn": PAPER_TABLE["cnn"], "ecrl_wins": ["Contempt"]}, "ecrl_wins"),
        ([], "cnn"),
    ],
)
def test_bad_tables(table, match):
    with pytest.raises(ValueError, match=match):
        FusionPolicy.from_table(table)


def test_bad_labels():
    with pytest.raises(ValueError, match="CNN label"):
        FusionPolicy.paper().fuse("happy", None)
    with pytest.raises(ValueError, match="ECRL label"):
        FusionPolicy.paper().fuse("Sad", "sadness")
    with pytest.raises(ValueError, match="Unknown fusion policy"):
        FusionPolicy.named("vote")
