"""Pooled metrics: hand-computed cases and agreement with scikit-learn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, recall_score
from sklearn.metrics import confusion_matrix as sk_confusion

from mer_tf.labels import CLASSES, MEGC3
from mer_tf.metrics import confusion_matrix, format_scores, pooled_scores, sliced_scores


def test_hand_computed_three_classes():
    # truth:  neg neg neg neg pos pos sur
    # pred:   neg neg pos sur pos neg sur
    t = ["negative"] * 4 + ["positive"] * 2 + ["surprise"]
    p = ["negative", "negative", "positive", "surprise", "positive", "negative", "surprise"]
    s = pooled_scores(t, p, MEGC3)
    assert s["confusion"] == [[2, 1, 1], [1, 1, 0], [0, 0, 1]]
    # F1: neg 2*2/(4+1+2)=4/7, pos 2/(2+1+1)=1/2, sur 2/(2+1+0)=2/3
    assert s["uf1"] == pytest.approx((4 / 7 + 1 / 2 + 2 / 3) / 3)
    # recall: 2/4, 1/2, 1/1
    assert s["uar"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert s["accuracy"] == pytest.approx(4 / 7)
    assert s["per_class"]["negative"]["precision"] == pytest.approx(2 / 3)
    assert s["per_class"]["surprise"]["precision"] == pytest.approx(1 / 2)
    assert s["per_class"]["positive"]["support"] == 2
    assert s["absent_classes"] == []


def test_indices_and_names_agree():
    t = [0, 1, 2, 2]
    p = [0, 2, 2, 1]
    a = pooled_scores(t, p, MEGC3)
    b = pooled_scores([MEGC3[i] for i in t], [MEGC3[i] for i in p], MEGC3)
    assert a == b


def test_absent_class_is_listed_not_silently_dropped():
    # Sad has no true sample, but one sample is wrongly predicted Sad.
    t = ["Happy", "Happy", "Angry", "Angry"]
    p = ["Happy", "Sad", "Angry", "Angry"]
    s = pooled_scores(t, p, CLASSES)
    assert "Sad" in s["absent_classes"] and "Neutral" in s["absent_classes"]
    assert s["classes_in_mean"] == ["Happy", "Angry"]
    assert s["per_class"]["Sad"]["support"] == 0
    assert s["per_class"]["Sad"]["predicted"] == 1
    assert s["per_class"]["Sad"]["recall"] is None
    # The wrong Sad prediction still costs Happy: recall 1/2, F1 2/(2+0+1).
    assert s["uar"] == pytest.approx((0.5 + 1.0) / 2)
    assert s["uf1"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert "left out of the means" in format_scores(s)


def test_class_missing_from_one_fold_is_pooled_not_averaged():
    # Fold A has no Surprise sample; fold B has. Pooled UAR counts Surprise once
    # over all folds, unlike a mean of per-fold scores.
    fold_a = (["Happy", "Sad"], ["Happy", "Happy"])
    fold_b = (["Surprise", "Sad", "Happy"], ["Surprise", "Sad", "Sad"])
    t = fold_a[0] + fold_b[0]
    p = fold_a[1] + fold_b[1]
    s = pooled_scores(t, p, CLASSES)
    assert s["classes_in_mean"] == ["Happy", "Surprise", "Sad"]
    assert s["uar"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)


def test_bad_label_names_the_value():
    with pytest.raises(ValueError, match="'Joy'"):
        pooled_scores(["Joy"], ["Happy"], CLASSES)
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix(["Happy"], [], CLASSES)
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([9], [0], CLASSES)


def test_sliced_scores_per_dataset():
    t = ["Happy", "Sad", "Happy", "Sad"]
    p = ["Happy", "Sad", "Sad", "Sad"]
    g = ["casme2", "casme2", "samm", "samm"]
    s = sliced_scores(t, p, g, CLASSES)
    assert set(s) == {"all", "casme2", "samm"}
    assert s["casme2"]["accuracy"] == 1.0
    assert s["samm"]["accuracy"] == 0.5
    assert s["all"]["n"] == 4


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=80),
)
def test_equals_sklearn_macro_on_present_classes(pairs):
    t = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    s = pooled_scores(t, p, CLASSES)
    present = sorted(set(t.tolist()))
    assert s["uf1"] == pytest.approx(f1_score(t, p, labels=present, average="macro", zero_division=0))
    assert s["uar"] == pytest.approx(recall_score(t, p, labels=present, average="macro", zero_division=0))
    assert np.array_equal(np.array(s["confusion"]), sk_confusion(t, p, labels=list(range(7))))


def test_all_classes_present_equals_plain_sklearn_macro():
    rng = np.random.default_rng(0)
    t = np.concatenate([np.arange(7), rng.integers(0, 7, 200)])
    p = np.where(rng.random(207) < 0.6, t, rng.integers(0, 7, 207))
    s = pooled_scores(t, p, CLASSES)
    assert s["uf1"] == pytest.approx(f1_score(t, p, average="macro"))
    assert s["uar"] == pytest.approx(recall_score(t, p, average="macro"))
