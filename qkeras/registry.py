# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""A minimal name -> object registry (``qkeras.registry.Registry``)."""

__all__ = ["Registry"]


class Registry:
  """Maps names to objects (usually classes).

  ``register(item, name=None)`` stores ``item`` under ``name`` (default:
  ``item.__name__``; an object without ``__name__`` raises AttributeError, as in
  QKeras). ``lookup(name)`` returns the item or raises KeyError.
  """

  def __init__(self):
    self._container = {}

  def register(self, item, name=None):
    """Registers ``item`` under ``name`` (or ``item.__name__``)."""
    if name is None:
      name = item.__name__
    self._container[name] = item

  def lookup(self, name):
    """Returns the item registered under ``name``; KeyError if there is none."""
    return self._container[name]

  def names(self):
    """Returns the registered names, in registration order."""
    return list(self._container)

  def __contains__(self, name):
    return name in self._container

  def __len__(self):
    return len(self._container)
