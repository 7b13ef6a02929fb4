# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Argument descriptions of the quantizers: each argument written once.

A quantizer class lists its constructor arguments in ``_ARGS``, a tuple of
``Arg`` in ``get_config()`` order. One ``Arg`` says how the argument is
checked (``check``), where the value is kept (``attr``), whether and how it
goes into ``get_config()`` (``config``) and how ``str()`` writes it
(``style``, ``text``, ``shown``). ``BaseQuantizer`` reads these descriptions
to validate and store the arguments (``_init_args``), to build
``get_config()`` and to write the default ``__str__``.

``str()`` writes the arguments in ``_STR_ORDER`` (default: ``_ARGS`` order):
``POSITIONAL`` arguments always, ``OPTIONAL`` ones positionally up to the
last one that is shown (earlier ones as placeholders), ``KEYWORD`` ones as
``name=text`` when shown. ``shown(value, default)`` receives the value and
the constructor's default for it.
"""

import dataclasses
from typing import Any, Callable, Optional, Union

POSITIONAL = "positional"
OPTIONAL = "optional"
KEYWORD = "keyword"


# ``shown`` rules: (value, constructor default) -> bool.
def truthy(value, default):  # pylint: disable=unused-argument
  return bool(value)


def falsy(value, default):  # pylint: disable=unused-argument
  return not value


def not_none(value, default):  # pylint: disable=unused-argument
  return value is not None


def always(value, default):  # pylint: disable=unused-argument
  return True


def changed(value, default):
  return value != default


def int_text(value):
  """``str(int(value))``: flags written as 0/1."""
  return str(int(value))


def quoted_text(value):
  return "'" + str(value) + "'"


@dataclasses.dataclass(frozen=True)
class Arg:
  """How one constructor argument of a quantizer is checked, kept and written.

  Attributes:
    name: the constructor argument (and ``get_config()`` key).
    check: ``check(owner, name, value) -> value``; raises ValueError naming
      the argument. None: stored as given (or checked by a property setter).
    attr: the attribute the value is kept in (default: ``name``).
    config: True: ``get_config()`` holds the value; False: it does not; a
      function: ``get_config()`` holds ``config(value)``.
    style: how ``str()`` writes it: ``POSITIONAL``, ``OPTIONAL``,
      ``KEYWORD``, or None (not written).
    text: ``text(value) -> str`` used by ``str()``.
    shown: ``shown(value, default) -> bool``: whether ``str()`` writes an
      ``OPTIONAL`` or ``KEYWORD`` argument.
  """
  name: str
  check: Optional[Callable[[str, str, Any], Any]] = None
  attr: Optional[str] = None
  config: Union[bool, Callable[[Any], Any]] = True
  style: Optional[str] = None
  text: Callable[[Any], str] = str
  shown: Callable[[Any, Any], bool] = truthy

  @property
  def attribute(self):
    return self.attr or self.name

  def config_value(self, value):
    return self.config(value) if callable(self.config) else value

  def replace(self, **changes):
    """A copy with ``changes`` (e.g. another ``check`` or ``style``)."""
    return dataclasses.replace(self, **changes)


def describing_class(cls):
  """The nearest class in ``cls``'s MRO that declares ``_ARGS``."""
  for klass in cls.__mro__:
    if "_ARGS" in vars(klass):
      return klass
  return None


def all_args(cls):
  """Every ``Arg`` declared along ``cls``'s MRO, by name (nearest wins)."""
  args = {}
  for klass in reversed(cls.__mro__):
    for arg in vars(klass).get("_ARGS", ()):
      args[arg.name] = arg
  return args


def str_text(quantizer, defaults):
  """The default ``str()`` text of ``quantizer`` (see the module docstring)."""
  cls = describing_class(type(quantizer))
  by_name = {arg.name: arg for arg in cls._ARGS}  # pylint: disable=protected-access
  order = vars(cls).get("_STR_ORDER") or [a.name for a in cls._ARGS]  # pylint: disable=protected-access
  args = [by_name[name] for name in order if by_name[name].style]
  values = [getattr(quantizer, arg.attribute) for arg in args]
  shown = [arg.style == POSITIONAL or arg.shown(value, defaults.get(arg.name))
           for arg, value in zip(args, values)]
  last = max((i for i, arg in enumerate(args)
              if arg.style != KEYWORD and shown[i]), default=-1)
  pieces = []
  for i, (arg, value) in enumerate(zip(args, values)):
    if arg.style == KEYWORD:
      if shown[i]:
        pieces.append(arg.name + "=" + arg.text(value))
    elif i <= last:
      pieces.append(arg.text(value))
  return cls.__name__ + "(" + ",".join(pieces) + ")"
