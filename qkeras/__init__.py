# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""qkeras: QKeras quantization-aware training, native on Keras 3.

``from qkeras import *`` gives the Q-layers, the quantizers, their helper
functions and the parser helpers, as in QKeras 0.9 (without QKeras's leaked third-party names
such as ``tf``, ``np`` or ``K``). Importing qkeras changes no global state:
no environment variables, no Keras configuration, no eager-mode assertion.
The one addition is for hls4ml: when the import finishes, our hls4ml layer
handlers are registered if hls4ml is imported already, else a small finder
in ``sys.meta_path`` registers them when hls4ml is imported
(``qkeras/_hls4ml_hook.py``; ``QKERAS_HLS4ML_AUTOREGISTER=0`` turns it off).
``import qkeras`` never imports hls4ml.

``import qkeras`` imports every submodule, which registers every Q-layer and
quantizer class with Keras: ``keras.models.load_model`` then needs no
``custom_objects`` (a README promise; this is why the package is not lazy in
general). There is one exception, for the package's own command-line entry
points. ``python -m qkeras.demo`` and ``python -m qkeras.qtools`` make Python
import this package while it locates their module, before their own code
runs; at that moment ``sys.argv[0]`` is ``"-m"`` (see the Python docs of
``-m``) and ``sys.orig_argv`` names the module. In exactly that case the
submodules are not imported here: the entry point first answers ``--help``
and sets its default ``TF_CPP_MIN_LOG_LEVEL`` (before anything loads Keras,
hence TensorFlow), then calls ``_finish_import()`` inside
``_tensorflow_log_level_applied()``. Until then, reading any other name of
the package (``qkeras.QDense``, ``from qkeras import *``, ``dir(qkeras)``)
finishes the import first (a module ``__getattr__``). Every other import —
user code, ``python -m`` of another module that imports qkeras, tests — is
eager. See "The entry points and ``import qkeras``" in docs/architecture.md.
"""

import contextlib as _contextlib
import importlib as _importlib
import os as _os
import re as _re
import sys as _sys
import tempfile as _tempfile
import types as _types

from qkeras import _install_check

__version__ = "0.9.0"

_install_check.warn_if_mixed()

# The modules run by ``python -m`` whose start-up must not load Keras.
_ENTRY_POINTS = ("qkeras.demo", "qkeras.qtools", "qkeras.qtools.__main__")

# Submodules bound as attributes of the package (QKeras's module paths).
_SUBMODULES = (
    "b2t", "base_quantizer", "bn_folding_utils", "estimate",
    "qconv2d_batchnorm", "qdense_batchnorm", "qdepthwiseconv2d_batchnorm",
    "qconvolutional", "qdepthwise_conv2d_transpose", "qlayers", "qmac",
    "qnormalization", "qoctave", "qpooling", "qrecurrent",
    "qseparable_conv2d_transpose", "quantizer_registry", "quantizers",
    "registry", "safe_eval", "utils",
    "qtools", "qtools.run_qtools",  # an attribute, as in QKeras
)

# Names re-exported at the top level: a submodule's whole ``__all__`` (None)
# or the names listed.
_EXPORTS = (
    ("b2t", ("BinaryToThermometer",)),
    ("base_quantizer", ("BaseQuantizer",)),
    ("bn_folding_utils", ("unfold_model",)),
    ("estimate", ("analyze_accumulator", "analyze_accumulator_from_sample",
                  "check_quantizer_collapse",
                  "create_activation_cache", "extract_model_operations",
                  "get_model_sparsity", "get_operation_type",
                  "get_quant_mode", "print_qstats")),
    ("qconv2d_batchnorm", ("QConv2DBatchnorm",)),
    ("qconvolutional", None),
    ("qdense_batchnorm", ("QDenseBatchnorm",)),
    ("qdepthwiseconv2d_batchnorm", ("QDepthwiseConv2DBatchnorm",)),
    ("qdepthwise_conv2d_transpose", ("QDepthwiseConv2DTranspose",)),
    ("qlayers", None),
    ("qmac", None),
    ("qnormalization", None),
    ("qoctave", None),
    ("qpooling", None),
    ("qrecurrent", None),
    ("qseparable_conv2d_transpose", ("QSeparableConv2DTranspose",)),
    ("quantizers", None),
    ("registry", ("Registry",)),
    ("safe_eval", ("Bool", "GetArg", "GetParams", "IsBool", "IsListofNums",
                   "IsNone", "IsNum", "ListofNums", "Num", "Str")),
)


class _CallableModule(_types.ModuleType):
  """A module that can also be called (see ``qkeras.safe_eval`` below)."""

  def __call__(self, *args, **kwargs):
    return self.safe_eval(*args, **kwargs)


def _located_by_python_m():
  """The module name ``python -m`` is locating while it imports this
  package, or None when this import has another cause."""
  if _sys.argv[:1] != ["-m"]:
    return None
  args = list(getattr(_sys, "orig_argv", ()))[1:]
  for i, arg in enumerate(args):
    if arg == "-m":
      return args[i + 1] if i + 1 < len(args) else None
    if arg.startswith("-m"):
      return arg[2:]
  return None


def _finish_import():
  """Imports the submodules (registering their classes with Keras) and binds
  the package's public names. Runs at ``import qkeras``, except when an entry
  point defers it (module docstring)."""
  global _finished
  if _finished:
    return
  _finished = True
  namespace = globals()
  for name in _SUBMODULES:
    _importlib.import_module("qkeras." + name)
  for name, names in _EXPORTS:
    module = _sys.modules["qkeras." + name]
    for attr in module.__all__ if names is None else names:
      namespace[attr] = getattr(module, attr)
  # In QKeras, ``from qkeras import *`` rebinds ``qkeras.safe_eval`` to the
  # *function* safe_eval, hiding the module. Here ``qkeras.safe_eval`` stays
  # the module (``qkeras.safe_eval.GetParams`` works) and calling it calls the
  # function, so code written either way keeps working.
  _sys.modules["qkeras.safe_eval"].__class__ = _CallableModule
  namespace["safe_eval"] = _sys.modules["qkeras.safe_eval"]
  # hls4ml converts our layers without ``import qkeras.hls4ml_support``
  # (in either import order; imports nothing of hls4ml).
  from qkeras import _hls4ml_hook  # pylint: disable=g-import-not-at-top
  _hls4ml_hook.install()


# A TensorFlow C++ log line (absl: "I0101 12:00:00.000 42 f.cc:1] text") and
# the banner absl writes before its logging is initialized.
_TF_LOG_LINE = _re.compile(r"[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] ")
_TF_LOG_BANNER = "WARNING: All log messages before absl::InitializeLog()"


@_contextlib.contextmanager
def _tensorflow_log_level_applied():
  """Applies ``TF_CPP_MIN_LOG_LEVEL`` to what the block writes to stderr.

  TensorFlow (2.21) writes some start-up notices (oneDNN, CUDA stub) before
  it reads ``TF_CPP_MIN_LOG_LEVEL``. An entry point imports Keras in this
  block: the process's stderr (file descriptor 2) goes to a temporary file,
  and afterwards every line of it is written to stderr except TensorFlow log
  lines below the level (0 info, 1 warning, 2 error, 3 fatal) and absl's
  banner when the level hides info. Only the entry points use it.
  """
  try:
    level = int(_os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
  except ValueError:
    level = 0
  try:
    saved = _os.dup(2) if level > 0 else None
  except OSError:  # no stderr file descriptor (e.g. pythonw)
    saved = None
  if saved is None:
    yield
    return
  _sys.stderr.flush()
  with _tempfile.TemporaryFile() as captured:
    _os.dup2(captured.fileno(), 2)
    try:
      yield
    finally:
      _sys.stderr.flush()
      _os.dup2(saved, 2)
      _os.close(saved)
      captured.seek(0)
      kept = [line for line in
              captured.read().decode(errors="replace").splitlines(True)
              if not (line.startswith(_TF_LOG_BANNER) or (
                  _TF_LOG_LINE.match(line) and
                  "IWEF".index(line[0]) < level))]
      _sys.stderr.write("".join(kept))
      _sys.stderr.flush()


def __getattr__(name):
  if not _finished:
    _finish_import()
    if name in globals():
      return globals()[name]
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
  _finish_import()
  return sorted(globals())


_finished = False
if _located_by_python_m() not in _ENTRY_POINTS:
  _finish_import()
