# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QTools: per-layer data types and energy estimates of quantized models.

    from qkeras.qtools import QTools, qtools_cfg
    from qkeras.qtools import settings as qtools_settings

``python -m qkeras.qtools MODEL.keras`` prints both for a saved model.
``import qkeras`` imports it (``qkeras.qtools`` is an attribute, as in QKeras).
"""

from qkeras.qtools import settings
from qkeras.qtools.run_qtools import QTools
from qkeras.qtools.settings import cfg as qtools_cfg

__all__ = ["QTools", "qtools_cfg", "settings"]
