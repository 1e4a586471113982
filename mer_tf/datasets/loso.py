"""Leave-one-subject-out folds, with validation subjects drawn from each fold's training subjects."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

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
        score: samples of the score subjects: held out of training like the
            validation subjects but never used to fit (no early stopping
            either); they only score a configuration (settings selection).
        score_subjects: the score subjects.
    """

    test_subject: str
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    test_subjects: tuple[str, ...] = ()
    val_subjects: tuple[str, ...] = ()
    score: list[Sample] = field(default_factory=list)
    score_subjects: tuple[str, ...] = ()


def loso_splits(samples: Sequence[Sample], n_val_subjects: int = 2, seed: int = 0,
                group_by: str = "subject", n_score_subjects: int = 0) -> Iterator[Fold]:
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
        n_score_subjects: score subjects per fold (default 0). They are the
            first ones of the same seeded draw, the validation subjects the
            next ones: a fold's score subjects are exactly the validation
            subjects a run with `n_val_subjects=n_score_subjects` and the
            same seed draws, so an early-stopped configuration can be scored
            on the subjects a fixed-schedule one was validated on.

    Raises:
        ValueError: bad group_by, negative n_val_subjects or n_score_subjects, or fewer than two subjects/groups.
    """
    if group_by not in ("subject", "group"):
        raise ValueError(f"`group_by` must be 'subject' or 'group'. Received: group_by={group_by!r}")
    if n_val_subjects < 0:
        raise ValueError(f"`n_val_subjects` must be >= 0. Received: n_val_subjects={n_val_subjects}")
    if n_score_subjects < 0:
        raise ValueError(f"`n_score_subjects` must be >= 0. Received: n_score_subjects={n_score_subjects}")
    unit_of = (lambda s: s.subject) if group_by == "subject" else (lambda s: s.group or s.subject)
    units = sorted({unit_of(s) for s in samples})
    if len(units) < 2:
        raise ValueError(f"LOSO needs at least two {group_by}s; received {len(units)} ({units}).")
    for index, unit in enumerate(units):
        test = [s for s in samples if unit_of(s) == unit]
        rest = [s for s in samples if unit_of(s) != unit]
        pool = sorted({s.subject for s in rest})
        wanted = n_val_subjects + n_score_subjects
        n_drawn = min(wanted, len(pool) - 1)
        if n_drawn < wanted:
            log.warning("fold %s: only %d training subjects, %d validation and score subjects drawn", unit,
                        len(pool), n_drawn)
        # One draw, in draw order (random.sample's first k picks do not depend on how many follow).
        drawn = random.Random(f"{seed}/{index}/{unit}").sample(pool, n_drawn)
        score_subjects = tuple(sorted(drawn[:n_score_subjects]))
        val_subjects = tuple(sorted(drawn[n_score_subjects:]))
        held = set(drawn)
        yield Fold(
            test_subject=unit,
            train=[s for s in rest if s.subject not in held],
            val=[s for s in rest if s.subject in val_subjects],
            test=test,
            test_subjects=tuple(sorted({s.subject for s in test})),
            val_subjects=val_subjects,
            score=[s for s in rest if s.subject in score_subjects],
            score_subjects=score_subjects,
        )
