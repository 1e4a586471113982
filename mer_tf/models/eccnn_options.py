"""ECCNNOptions: the architecture settings of ECCNN, saved in a model's config.json."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ECCNNOptions:
    """Architecture settings of ECCNN (training settings live elsewhere).

    The paper gives the layer types and their order (Fig. 2), the 3x3 region
    grid and the 1-3 pooling layers of Table 2, but no filter counts or sizes;
    the defaults below are ours and say why.
    """

    # Table 2: 3 pooling layers is the paper's main (fastest) ECCNN; 1 and 2
    # trade speed for accuracy.
    pooling_layers: int = 3
    # Table 1: the local region layer on (ECCNN) or off (the ablation).
    local_region: bool = True
    # One 3x3 conv block per entry; the first `pooling_layers` blocks end in
    # 2x2 max pooling. Three blocks so that pooling 1..3 all exist, with the
    # conv stack fixed: fewer pooling layers then keep later blocks at higher
    # resolution, which is the paper's trade-off (each pooling layer removed:
    # ~10 ms slower, 2-4 % more accurate). Widths double as resolution halves
    # (VGG habit) and stay small: CASME II/SAMM/SMIC have a few hundred clips,
    # and the target is a Raspberry-Pi-class CPU.
    filters: tuple[int, ...] = (16, 32, 64)
    # 3x3 kernels: the smallest that sees a neighbourhood; micro-expressions
    # are small local motions.
    kernel_size: int = 3
    # 3x3 regions: the paper's choice (eyes / nose / mouth bands).
    grid: tuple[int, int] = (3, 3)
    # Region convolutions are 3x3 too, with the same reasoning.
    region_kernel_size: int = 3
    # ReLU on f(x): flatten + dense follow the region layer, so a linear f
    # would add nothing a dense layer cannot express (see LocalRegionLayer).
    region_activation: str | None = "relu"
    # 0.5: the classic rate for a dense head on tiny data sets (Hinton et al.
    # 2012); the paper uses dropout without giving the rate.
    dropout: float = 0.5
    # One hidden dense layer of 128 units before the class layer (paper:
    # "fully connected layers", plural); 0 removes it.
    dense_units: int = 128

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        grid = (self.grid, self.grid) if isinstance(self.grid, int) else tuple(int(g) for g in self.grid)
        object.__setattr__(self, "grid", grid)
        if self.pooling_layers not in (1, 2, 3):
            raise ValueError(f"`pooling_layers` must be 1, 2 or 3. Received: pooling_layers={self.pooling_layers!r}")
        if len(self.filters) < self.pooling_layers or any(f < 1 for f in self.filters):
            raise ValueError(
                f"`filters` needs one positive width per conv block and at least `pooling_layers`="
                f"{self.pooling_layers} blocks. Received: filters={self.filters}"
            )
        if len(grid) != 2 or min(grid) < 1:
            raise ValueError(f"`grid` must be a positive int or (rows, cols). Received: grid={self.grid!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={self.dropout!r}")
        if self.dense_units < 0:
            raise ValueError(f"`dense_units` must be >= 0 (0: no hidden layer). Received: {self.dense_units!r}")
        for name in ("kernel_size", "region_kernel_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be a positive int. Received: {name}={getattr(self, name)!r}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) )

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples as lists) for config.json."""
        return {
            name: list(value) if isinstance(value, tuple) else value
            for name in self.field_names()
            for value in [getattr(self, name)]
        }

    @classmethod
    def from_dict(cls, data: dict) -> ECCNNOptions:
        """Inverse of `to_dict`; unknown keys are an error (a typo must not be ignored)."""
        unknown = sorted(set(data) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown ECCNN option(s) {unknown}. Allowed: {list(cls.field_names())}")
        return cls(**data)

    def replace(self, **changes) -> ECCNNOptions:
        return self.from_dict({**self.to_dict(), **changes})
