"""The map from MediaPipe's 468-point face mesh to the iBUG 300-W 68 points.

``MESH_TO_IBUG68[i]`` lists the mesh vertices whose mean is iBUG point ``i``
(0-based, dlib's order). The correspondence follows the published map of
Peizhi Yan, "Mediapipe_2_Dlib_Landmarks" (github.com/PeizhiYan/
Mediapipe_2_Dlib_Landmarks, 2024), which pairs each iBUG point with one or
two mesh vertices (two are averaged where no vertex sits on the iBUG point).
Checked here against dlib on the package photos: eye and mouth corners agree
within 8% of the inter-ocular distance (tests/test_faces_mediapipe.py).

The jaw line is where the two layouts differ most: iBUG's jaw follows the
visible face outline, the mesh's outline is a fixed 3D contour, so under head
rotation jaw points 0-16 drift; ECRL does not use them (except the chin, 8,
for face height and jaw drop). Left/right are the image's, as in iBUG.
"""

from __future__ import annotations

import numpy as np

MESH_TO_IBUG68: tuple[tuple[int, ...], ...] = (
    # jaw 0-16, image left to right
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,),
    (400,), (379,), (365,), (397, 288), (361,), (323,), (454,), (356,),
    # brows 17-21 (image left, outer to inner), 22-26 (image right, inner to outer)
    (70,), (63,), (105,), (66,), (107,),
    (336,), (296,), (334,), (293,), (300,),
    # nose bridge 27-30, nose base 31-35
    (168, 6), (197, 195), (5,), (4,),
    (75,), (97,), (2,), (326,), (305,),
    # eyes 36-41 (image left: outer corner, upper lid x2, inner corner, lower lid x2), 42-47
    (33,), (160,), (158,), (133,), (153,), (144,),
    (362,), (385,), (387,), (263,), (373,), (380,),
    # outer lips 48-59 (left corner, upper lip to right corner, lower lip back)
    (61,), (39,), (37,), (0,), (267,), (269,), (291,),
    (321,), (314,), (17,), (84,), (91,),
    # inner lips 60-67 (left corner, upper, right corner, lower)
    (78,), (82,), (13,), (312,), (308,), (317,), (14,), (87,),
)

assert len(MESH_TO_IBUG68) == 68  # noqa: S101 - a table typo must fail at import, not in ECRL

# as a (68, 468) averaging matrix: one matmul maps a mesh to the 68 points
_MATRIX = np.zeros((68, 468), dtype=np.float32)
for _i, _verts in enumerate(MESH_TO_IBUG68):
    _MATRIX[_i, list(_verts)] = 1.0 / len(_verts)


def mesh_to_ibug68(mesh: np.ndarray) -> np.ndarray:
    """(468, 2|3) or (478, 2|3) mesh points -> (68, same) iBUG points, float32."""
    mesh = np.asarray(mesh, dtype=np.float32)
    if mesh.ndim != 2 or mesh.shape[0] not in (468, 478) or mesh.shape[1] not in (2, 3):
        raise ValueError(f"a face mesh must have shape (468, 2 or 3); received {mesh.shape}.")
    return _MATRIX @ mesh[:468]
