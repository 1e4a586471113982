"""Neutral samples from onset frames (DATASETS.md: the onset frame of any clip is a Neutral sample).

CASME II, SAMM and SMIC have no neutral class; the paper's seven classes
include Neutral. Each clip's onset frame supplies one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from mer_tf.datasets.sample import Sample

SUFFIX = "@onset"


def onset_neutrals(samples: Iterable[Sample]) -> list[Sample]:
    """One Neutral sample per clip: its onset frame as the "apex", label7 "Neutral", label3 None.

    The new sample keeps the clip's subject and group (so LOSO keeps it with
    its clip), its frames and landmarks, and an id ending in "@onset". Clips
    that are already Neutral (the synthetic set's) are skipped.
    """
    out = []
    for s in samples:
        if s.label7 == "Neutral":
            continue
        out.append(replace(s, sample_id=s.sample_id + SUFFIX, apex=s.onset, offset=s.onset, raw_label="neutral",
                           label7="Neutral", label3=None, action_units="",
                           quirks=s.quirks + ("Neutral sample made from the clip's onset frame",)))
    return out
