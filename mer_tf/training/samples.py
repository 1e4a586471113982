"""From a config to labelled samples, splits and features (no TensorFlow)."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence

from mer_tf.training.config import TrainConfig

log = logging.getLogger(__name__)


def label_of(sample, scheme: str) -> str | None:
    """The sample's label in `scheme` ("seven" or "megc3")."""
    return sample.label3 if scheme == "megc3" else sample.label7


def load_samples(config: TrainConfig) -> list:
    """The samples of `config.data` that have a label in the config's class scheme."""
    from mer_tf.datasets import load_dataset

    report = load_dataset(config.data, dataset=config.dataset)
    scheme = config.class_scheme
    samples = [s for s in report.samples if label_of(s, scheme) is not None]
    dropped = len(report.samples) - len(samples)
    if dropped:
        log.info("%d samples have no %s label and are left out", dropped, scheme)
    if config.max_samples_per_subject:
        per: dict[str, list] = defaultdict(list)
        for s in samples:
            per[s.subject].append(s)
        rng = random.Random(config.seed)
        samples = []
        for subject in sorted(per):
            group = sorted(per[subject], key=lambda s: s.key)
            rng.shuffle(group)
            samples += sorted(group[: config.max_samples_per_subject], key=lambda s: s.key)
    if not samples:
        raise ValueError(
            f"No labelled samples in {config.data} (dataset={config.dataset}, classes={scheme}); "
            "run `mer data check` on it."
        )
    return samples


def split_validation(
    samples: Sequence, n_val_subjects: int, seed: int, group_by: str = "subject"
) -> tuple[list, list]:
    """Hold out `n_val_subjects` whole subjects for early stopping and model choice.

    With group_by="group", subjects sharing a `group` (synthetic subjects made
    from one photograph) go to the same side, so validation never sees a
    training face; "subject" (default) matches the LOSO protocol.
    """
    unit = (lambda s: s.subject) if group_by == "subject" else (lambda s: s.group or s.subject)
    groups = sorted({unit(s) for s in samples})
    if n_val_subjects <= 0 or len(groups) < 2:
        return list(samples), []
    rng = random.Random(seed)
    rng.shuffle(groups)
    val_groups: set[str] = set()
    val_subjects: set[str] = set()
    for g in groups:
        if len(val_subjects) >= n_val_subjects or len(val_groups) >= len(groups) - 1:
            break
        val_groups.add(g)
        val_subjects |= {s.subject for s in samples if unit(s) == g}
    train = [s for s in samples if unit(s) not in val_groups]
    val = [s for s in samples if unit(s) in val_groups]
    return train, val


def label_indices(samples: Sequence, classes: Sequence[str], scheme: str) -> list[int]:
    index = {c: i for i, c in enumerate(classes)}
    return [index[label_of(s, scheme)] for s in samples]
