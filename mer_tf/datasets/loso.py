"""Leave-one-subject-out folds, with validation subjects drawn from each fold's training subjects."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from mer_tf.datasets.sample import Sample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fold:
    """One LOSO fold.

    Args:
        test_subject: the held-out subject (or group, with group_by="group").
        train: samples to fit on.
        val: samples of the validation subjects (model selection only).
        test: samples of the held-out subject(s): never in train or val.
        test_subjects: every subject held out (several for a group).
        val_subjects: the validation subjects, drawn from this fold's training subjects.
    """

    test_subject: str
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    test_subjects: tuple[str, ...] = ()
    val_subjects: tuple[str, ...] = ()


def loso_splits(samples: Sequence[Sample], n_val_subjects: int = 2, seed: int = 0,
                group_by: str = "subject") -> Iterator[Fold]:
    """One fold per subject (or per group); validation subjects come from the rest.

    A test subject never appears in train or val. Validation subjects are
    drawn at random (seeded by `seed` and the fold) from the fold's training
    subjects and removed from training; with group_by="group" a whole source
    (e.g. every synthetic subject made from one photograph) is held out, and
    validation subjects are drawn from the other groups.

    Args:
        samples: the samples (filter labels first, e.g. report.labelled("seven")).
        n_val_subjects: validation subjects per fold; fewer if too few remain
            (at least one training subject is always kept). 0: no validation.
        seed: makes the validation draw reproducible.
        group_by: "subject" (the field's protocol) or "group" (hold out a source).

    Raises:
        ValueError: bad group_by, negative n_val_subjects, or fewer than two subjects/groups.
    """
    if group_by not in ("subject", "group"):
        raise ValueError(f"`group_by` must be 'subject' or 'group'. Received: group_by={group_by!r}")
    if n_val_subjects < 0:
        raise ValueError(f"`n_val_subjects` must be >= 0. Received: n_val_subjects={n_val_subjects}")
    unit_of = (lambda s: s.subject) if group_by == "subject" else (lambda s: s.group or s.subject)
    units = sorted({unit_of(s) for s in samples})
    if len(units) < 2:
        raise ValueError(f"LOSO needs at least two {group_by}s; received {len(units)} ({units}).")
    for index, unit in enumerate(units):
        test = [s for s in samples if unit_of(s) == unit]
        rest = [s for s in samples if unit_of(s) != unit]
        pool = sorted({s.subject for s in rest})
        n_val = min(n_val_subjects, len(pool) - 1)
        if n_val < n_val_subjects:
            log.warning("fold %s: only %d training subjects, %d validation subjects drawn", unit, len(pool), n_val)
        val_subjects = tuple(sorted(random.Random(f"{seed}/{index}/{unit}").sample(pool, n_val)))
        yield Fold(
            test_subject=unit,
            train=[s for s in rest if s.subject not in val_subjects],
            val=[s for s in rest if s.subject in val_subjects],
            test=test,
            test_subjects=tuple(sorted({s.subject for s in test})),
            val_subjects=val_subjects,
        )
