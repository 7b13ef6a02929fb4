# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""QTools: per-layer data types and energy estimates of quantized models.

    from qkeras.qtools import QTools, qtools_cfg
    from qkeras.qtools import settings as qtools_settings

``python -m qkeras.qtools MODEL.keras`` prints both for a saved model.
``import qkeras`` imports it (``qkeras.qtools`` is an attribute, as in QKeras)
and its modules. ``QTools`` is read from ``run_qtools`` at first use (a module
``__getattr__``): Python imports this package before it runs
``python -m qkeras.qtools``, which answers ``--help`` without loading Keras.
"""

from qkeras.qtools import settings
from qkeras.qtools.settings import cfg as qtools_cfg

__all__ = ["QTools", "qtools_cfg", "settings"]


def __getattr__(name):
  if name == "QTools":
    from qkeras.qtools.run_qtools import QTools  # pylint: disable=g-import-not-at-top
    globals()["QTools"] = QTools
    return QTools
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | {"QTools"})
