# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""The registry of quantizer classes, keyed by class name."""

from qkeras import registry

_QUANTIZERS_REGISTRY = registry.Registry()


def register_quantizer(quantizer):
  """Class decorator: registers ``quantizer`` under its class name."""
  _QUANTIZERS_REGISTRY.register(quantizer)
  return quantizer


def lookup_quantizer(name):
  """Returns the quantizer class registered as ``name`` (KeyError if none)."""
  return _QUANTIZERS_REGISTRY.lookup(name)


def registered_quantizers():
  """Returns ``{name: class}`` for every registered quantizer.

  A new dict, in registration order (QKeras's quantizers first, then any
  registered with ``register_quantizer``).
  """
  return {name: _QUANTIZERS_REGISTRY.lookup(name)
          for name in _QUANTIZERS_REGISTRY.names()}
