"""LOSO folds: one per subject (or group), validation from the training subjects, no leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_tf.datasets import Sample, loso_splits


def _samples(n_subjects=6, per_subject=3, groups=None):
    out = []
    for s in range(n_subjects):
        for k in range(per_subject):
            out.append(Sample(dataset="t", subject=f"sub{s:02d}", sample_id=f"EP{k}", frames=(Path("x.jpg"),),
                              onset=0, apex=0, offset=0, raw_label="happiness", label7="Happy", label3="positive",
                              group=groups[s] if groups else f"sub{s:02d}"))
    return out


def test_one_fold_per_subject_without_leaks():
    samples = _samples()
    folds = list(loso_splits(samples, n_val_subjects=2, seed=0))
    assert [f.test_subject for f in folds] == [f"sub{s:02d}" for s in range(6)]
    for fold in folds:
        train = {s.subject for s in fold.train}
        val = {s.subject for s in fold.val}
        assert {s.subject for s in fold.test} == {fold.test_subject}
        assert fold.test_subject not in train | val
        assert len(val) == 2 and set(fold.val_subjects) == val and not train & val
        assert len(fold.train) + len(fold.val) + len(fold.test) == len(samples)


def test_validation_draw_is_seeded():
    samples = _samples(n_subjects=10)
    a = [f.val_subjects for f in loso_splits(samples, seed=1)]
    b = [f.val_subjects for f in loso_splits(samples, seed=1)]
    c = [f.val_subjects for f in loso_splits(samples, seed=2)]
    assert a == b and a != c


def test_group_folds_hold_out_a_whole_source():
    groups = ["astronaut", "astronaut", "astronaut", "grace_hopper", "grace_hopper", "grace_hopper"]
    folds = list(loso_splits(_samples(groups=groups), n_val_subjects=1, group_by="group"))
    assert [f.test_subject for f in folds] == ["astronaut", "grace_hopper"]
    for fold in folds:
        assert {s.group for s in fold.test} == {fold.test_subject} and len(fold.test_subjects) == 3
        assert fold.test_subject not in {s.group for s in fold.train + fold.val}
        assert len(fold.val_subjects) == 1


def test_too_few_subjects_keeps_one_for_training():
    folds = list(loso_splits(_samples(n_subjects=2), n_val_subjects=2))
    assert all(len(f.val) == 0 and len(f.train) == 3 for f in folds)


@pytest.mark.parametrize("kwargs, match", [({"group_by": "photo"}, "group_by"), ({"n_val_subjects": -1}, "n_val")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        list(loso_splits(_samples(), **kwargs))


def test_needs_two_subjects():
    with pytest.raises(ValueError, match="at least two subjects"):
        list(loso_splits(_samples(n_subjects=1)))


def test_onset_neutrals_stay_with_their_subject():
    from mer_tf.datasets import onset_neutrals

    samples = _samples(n_subjects=3, per_subject=2)
    neutrals = onset_neutrals(samples)
    assert len(neutrals) == 6 and {s.label7 for s in neutrals} == {"Neutral"}
    assert all(n.apex == n.onset and n.label3 is None and n.sample_id.endswith("@onset") for n in neutrals)
    assert len({s.key for s in samples + neutrals}) == 12
    for fold in loso_splits(samples + neutrals, n_val_subjects=1):
        assert {s.subject for s in fold.test} == {fold.test_subject}
    assert onset_neutrals(neutrals) == []


def test_score_subjects_are_the_validation_subjects_of_a_run_without_them():
    """The first picks of one seeded draw: an early-stopped run scores on a fixed-schedule run's validation."""
    samples = _samples(n_subjects=12)
    plain = list(loso_splits(samples, n_val_subjects=2, seed=3))
    scored = list(loso_splits(samples, n_val_subjects=2, seed=3, n_score_subjects=2))
    for a, b in zip(plain, scored):
        assert b.score_subjects == a.val_subjects and len(b.val_subjects) == 2
        held = set(b.score_subjects) | set(b.val_subjects)
        assert len(held) == 4 and b.test_subject not in held
        assert not held & {s.subject for s in b.train}
        assert {s.subject for s in b.score} == set(b.score_subjects)
        assert len(b.train) + len(b.val) + len(b.score) + len(b.test) == len(samples)
    assert any(a.val_subjects != b.val_subjects for a, b in zip(plain, scored))
    with pytest.raises(ValueError, match="n_score_subjects"):
        list(loso_splits(samples, n_score_subjects=-1))
