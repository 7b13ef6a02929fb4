# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Forgiving factors: the cost part of the AutoQKeras score.

``forgiving_factor[goal_type]`` is the class a goal of that type uses
("bits": ``ForgivingFactorBits``, "energy": ``ForgivingFactorPower``).
"""

from qkeras.autoqkeras.forgiving_metrics.forgiving_bits import (
    ForgivingFactorBits)
from qkeras.autoqkeras.forgiving_metrics.forgiving_energy import (
    ForgivingFactorPower)
from qkeras.autoqkeras.forgiving_metrics.forgiving_factor import (
    ForgivingFactor)

forgiving_factor = {
    "bits": ForgivingFactorBits,
    "energy": ForgivingFactorPower,
}

__all__ = ["ForgivingFactor", "ForgivingFactorBits", "ForgivingFactorPower",
           "forgiving_factor"]
