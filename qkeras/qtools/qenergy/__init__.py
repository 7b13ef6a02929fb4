# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Energy model of QTools (``energy_estimate``); see ``qenergy.qenergy``."""

from qkeras.qtools.qenergy.qenergy import energy_estimate

__all__ = ["energy_estimate"]
