# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Registers the hls4ml handlers automatically, in either import order.

``qkeras.hls4ml_support.register()`` adds our Keras-3 layer handlers to
hls4ml's registry ``hls4ml.converters.keras_v3_to_hls.v3_layer_handlers``.
``install()`` (called when ``import qkeras`` finishes) arranges for that to
happen without an explicit import:

* hls4ml's Keras-3 converter already imported (``import hls4ml`` before
  ``import qkeras``): ``register()`` runs at once;
* not imported yet: a ``sys.meta_path`` finder waits for
  ``hls4ml.converters.keras_v3_to_hls``. It lets the remaining finders
  locate the module, wraps the loader so that ``register()`` runs right after
  the module's code (hls4ml's own Keras-3 handlers are in the registry by
  then, and ``register()`` leaves the keys they handle alone), and removes
  itself from ``sys.meta_path``.

Nothing here imports hls4ml or looks for it: until a program imports
hls4ml, the only cost is one string comparison per later import. A failure
while registering never breaks ``import hls4ml`` (nor ``import qkeras``): it
is reported with ``warnings.warn`` and the import goes on.

``QKERAS_HLS4ML_AUTOREGISTER=0`` (also ``false``, ``no``, ``off``), set
before ``import qkeras``, turns the automatic registration off;
``import qkeras.hls4ml_support`` still registers explicitly. This module
imports only the standard library. See docs/hls4ml.md.
"""

import importlib
import os
import sys
import warnings

TARGET = "hls4ml.converters.keras_v3_to_hls"
ENV_VAR = "QKERAS_HLS4ML_AUTOREGISTER"
_OFF = ("0", "false", "no", "off")


def enabled():
  """False when ``QKERAS_HLS4ML_AUTOREGISTER`` is 0, false, no or off."""
  return os.environ.get(ENV_VAR, "").strip().lower() not in _OFF


def register():
  """``qkeras.hls4ml_support.register()``; a failure becomes a warning.

  Returns the keys added, or None when registration failed.
  """
  try:
    support = importlib.import_module("qkeras.hls4ml_support")
    return support.register()
  except Exception as e:  # pylint: disable=broad-except
    warnings.warn(
        "qkeras could not register its hls4ml layer handlers "
        f"({type(e).__name__}: {e}); hls4ml will not convert Q-layers. "
        "'import qkeras.hls4ml_support' and its register() raise the error "
        f"with a traceback; {ENV_VAR}=0 turns this off.",
        RuntimeWarning, stacklevel=2)
    return None


class _Loader:
  """hls4ml's loader for ``TARGET``, with ``register()`` after its code."""

  def __init__(self, loader, finder):
    self._loader = loader
    self._finder = finder

  def create_module(self, spec):
    create = getattr(self._loader, "create_module", None)
    return create(spec) if create is not None else None

  def exec_module(self, module):
    try:
      self._loader.exec_module(module)
    finally:  # the module keeps its real loader
      module.__loader__ = self._loader
      if getattr(module, "__spec__", None) is not None:
        module.__spec__.loader = self._loader
    _remove(self._finder)  # only after success: a retried import registers
    register()

  def __getattr__(self, name):  # get_source, is_package, get_resource_reader
    if name.startswith("_"):
      raise AttributeError(name)
    return getattr(self._loader, name)


class _Finder:
  """A ``sys.meta_path`` finder that answers only for ``TARGET``."""

  qkeras_hls4ml_hook = True  # marks the finder (install() is idempotent)

  def __init__(self):
    self._searching = False

  def find_spec(self, fullname, path=None, target=None):
    if fullname != TARGET or self._searching:
      return None  # (a finder below that asks sys.meta_path again: no loop)
    self._searching = True
    try:
      spec = self._real_spec(fullname, path, target)
    finally:
      self._searching = False
    if spec is None or not hasattr(spec.loader, "exec_module"):
      return spec  # nothing to wrap: the import goes on unchanged
    spec.loader = _Loader(spec.loader, self)
    return spec

  def _real_spec(self, fullname, path, target):
    """The spec the finders after this one in ``sys.meta_path`` give (all
    of them when this one is not there)."""
    finders = list(sys.meta_path)
    if self in finders:
      finders = finders[finders.index(self) + 1:]
    for finder in finders:
      find = getattr(finder, "find_spec", None)
      if find is None:
        continue
      spec = find(fullname, path, target)
      if spec is not None:
        return spec
    return None


def _is_hook(finder):
  return getattr(finder, "qkeras_hls4ml_hook", False) is True


def _remove(finder):
  try:
    sys.meta_path.remove(finder)
  except ValueError:
    pass


def installed():
  """True while the finder waits in ``sys.meta_path``."""
  return any(_is_hook(f) for f in sys.meta_path)


def install():
  """Registers now if hls4ml's Keras-3 converter is imported, else puts the
  finder first in ``sys.meta_path`` (once); nothing when turned off."""
  if not enabled():
    return
  if TARGET in sys.modules:
    register()
  elif not installed():
    sys.meta_path.insert(0, _Finder())


def uninstall():
  """Removes the finder (for tests)."""
  for finder in [f for f in sys.meta_path if _is_hook(f)]:
    _remove(finder)
