# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""``BaseQuantizer``: what every QKeras quantizer shares.

A quantizer is a small callable object: ``q(x, training=None)`` returns the
quantized tensor. It is not a Keras layer; layers own quantizers and pass
``training`` down. Stochastic quantizers are random only when called with
``training=True`` (Keras 3 has no global learning phase), and draw their noise
from a ``keras.random.SeedGenerator`` owned by the quantizer.
"""

import dataclasses
import inspect
from typing import Optional

import keras
from keras import ops
import numpy as np

from qkeras import _qmath
from qkeras import _quantizer_args


def _create_variable_name(attr_name, var_name=None):
  """``<var_name>/<attr>`` or ``<attr>_<uid>`` (QKeras's naming)."""
  if var_name:
    return var_name + "/" + attr_name
  return attr_name + "_" + str(keras.backend.get_uid(attr_name))


def _is_settable(obj, name):
  """``obj.name`` exists and is not a read-only property (quantized_linear's
  ``integer`` is fixed at construction, as in QKeras)."""
  attr = getattr(type(obj), name, None)
  return hasattr(obj, name) and (not isinstance(attr, property) or
                                 attr.fset is not None)


def _to_python(value):
  """Makes a config value JSON-friendly (arrays -> lists, numpy -> Python)."""
  if isinstance(value, keras.Variable):
    value = _qmath.to_numpy(value)
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  return value


@dataclasses.dataclass(frozen=True)
class QuantizerFormat:
  """The number format of a quantizer, as the model tools read it.

  Attributes:
    family: the QTools number-format family (``"quantized_bits"``,
      ``"quantized_relu"``, ``"quantized_ulaw"``, ``"quantized_tanh"``,
      ``"quantized_po2"``, ``"quantized_relu_po2"``, ``"binary"``,
      ``"stochastic_binary"``, ``"bernoulli"``, ``"ternary"``,
      ``"stochastic_ternary"``), or None when QTools and
      ``qkeras.estimate`` have no data type for the quantizer.
    mode: the QTools / ``estimate`` mode: 0 fixed point, 1 power of two,
      2 ternary, 3 binary (-1, +1), 4 binary (0, 1); None with ``family``.
      A 2-bit fixed-point quantizer with ``integer == 1`` is ternary (2), a
      1-bit ``quantized_relu`` with ``integer == 1`` binary 0/1 (4).
    bits: the number of bits.
    signed: the sign of QKeras's mode table: False for ``quantized_relu``,
      ``quantized_relu_po2`` and ``bernoulli``, True otherwise (also for a
      ``quantized_bits`` with ``keep_negative=False``, as in QKeras).
    po2: whether the values are powers of two (``quantized_po2``,
      ``quantized_relu_po2``).
  """
  family: Optional[str]
  mode: Optional[int]
  bits: int
  signed: bool = True
  po2: bool = False


class BaseQuantizer:
  """Base class of all quantizers.

  Subclasses implement ``call(x, training)`` on a floating tensor, plus
  ``max`` and ``min``, and describe their constructor arguments in ``_ARGS``
  (see ``qkeras._quantizer_args``): ``__init__`` stores them with
  ``_init_args(locals())``, and ``get_config`` and ``__str__`` are written
  from the same description. ``__call__`` converts the input and builds the
  optional variables first.
  """

  # The constructor arguments (a tuple of ``_quantizer_args.Arg``, in
  # ``get_config()`` order) and, when it differs, the order ``str()`` writes
  # them in.
  _ARGS = ()
  _STR_ORDER = None

  # Subclasses that may be random set this to True (or override
  # ``_may_be_stochastic``) so that a SeedGenerator is created up front.
  _always_stochastic = False

  def __init__(self):
    self.built = False
    self._seed_generator = None

  def _init_args(self, values):
    """Checks and stores the described arguments among ``values``.

    ``values`` maps argument names to values (typically ``locals()`` of
    ``__init__``); they are checked in that order, each by its ``Arg.check``
    (errors name the quantizer class and the argument), and stored in the
    ``Arg``'s attribute. Names without a description are skipped. Then the
    seed generator is created if the quantizer may be random.
    """
    owner = type(self).__name__
    described = _quantizer_args.all_args(type(self))
    for name, value in values.items():
      arg = described.get(name)
      if arg is None:
        continue
      if arg.check is not None:
        value = arg.check(owner, name, value)
      setattr(self, arg.attribute, value)
    self._init_seed_generator()

  @staticmethod
  def _arguments_of(cls, values, **overrides):
    """The entries of ``values`` that are parameters of ``cls.__init__``,
    updated with ``overrides`` (to pass a subclass's arguments on)."""
    params = inspect.signature(cls.__init__).parameters
    picked = {k: v for k, v in values.items() if k in params and k != "self"}
    picked.update(overrides)
    return picked

  @property
  def format(self):
    """The number format (a ``QuantizerFormat``) the model tools read.

    This base has no QTools data type: ``family`` and ``mode`` are None.
    """
    return QuantizerFormat(None, None, int(getattr(self, "bits", 0) or 0))

  # ------------------------------------------------------------------
  # Building and variables.
  # ------------------------------------------------------------------
  def build(self, var_name=None, use_variables=False):
    """Creates ``qnoise_factor`` / ``integer`` variables when requested.

    With ``use_variables=True`` a float ``qnoise_factor`` becomes a
    non-trainable ``keras.Variable`` (path ``<var_name>/qnoise_factor`` or
    ``qnoise_factor_<uid>``) so that it can be changed during training, e.g.
    by ``QNoiseScheduler``; likewise an int ``integer`` becomes an int32
    variable.
    """
    if use_variables:
      if hasattr(self, "qnoise_factor") and not isinstance(
          self.qnoise_factor, keras.Variable):
        self.qnoise_factor = self._make_variable(
            "qnoise_factor", float(self.qnoise_factor), "float32", var_name)
      if (_is_settable(self, "integer") and
          _qmath.is_python_number(self.integer)):
        self.integer = self._make_variable("integer", int(self.integer),
                                           "int32", var_name)
    self.built = True

  @staticmethod
  def _make_variable(attr, value, dtype, var_name):
    path = _create_variable_name(attr, var_name)
    scope, _, name = path.rpartition("/")
    if scope:
      with keras.name_scope(scope):
        return keras.Variable(value, dtype=dtype, trainable=False, name=name)
    return keras.Variable(value, dtype=dtype, trainable=False, name=name)

  def _set_trainable_parameter(self):
    """Called by weight layers on their weight quantizers (no-op here)."""

  def update_qnoise_factor(self, qnoise_factor):
    """Sets ``qnoise_factor`` (assigning when it is a variable)."""
    if isinstance(self.qnoise_factor, keras.Variable):
      self.qnoise_factor.assign(qnoise_factor)
    elif isinstance(qnoise_factor, keras.Variable):
      self.qnoise_factor = float(_qmath.to_numpy(qnoise_factor))
    else:
      self.qnoise_factor = qnoise_factor

  def state_variables(self):
    """The Keras variables that hold this quantizer's state.

    Its seed generator's state (stochastic quantizers) and ``qnoise_factor``
    / ``integer`` when they are variables. Q-layers add these to their
    ``variables`` (not to their weights), so that a compiled JAX train step
    threads them like any other layer state.
    """
    state = []
    if self._seed_generator is not None:
      state.append(self._seed_generator.state)
    for name in ("qnoise_factor", "integer"):
      value = getattr(self, name, None)
      if isinstance(value, keras.Variable):
        state.append(value)
    return state

  # Quantizer variables are not exposed to optimizers: they are layer state
  # (see ``state_variables``), never trained.
  @property
  def variables(self):
    return ()

  @property
  def trainable_variables(self):
    return ()

  @property
  def non_trainable_variables(self):
    return ()

  # ------------------------------------------------------------------
  # Randomness.
  # ------------------------------------------------------------------
  def _may_be_stochastic(self):
    return self._always_stochastic or bool(
        getattr(self, "use_stochastic_rounding", False))

  @property
  def seed_generator(self):
    """The ``keras.random.SeedGenerator`` used for stochastic rounding."""
    if self._seed_generator is None:
      self._seed_generator = keras.random.SeedGenerator()
    return self._seed_generator

  def _init_seed_generator(self):
    """Creates the seed generator at construction when it may be needed."""
    if self._may_be_stochastic():
      _ = self.seed_generator

  # ------------------------------------------------------------------
  # Calling.
  # ------------------------------------------------------------------
  def __call__(self, x, training=None):
    """Quantizes ``x``; stochastic behaviour only when ``training`` is true."""
    if not self.built:
      self.build(var_name=getattr(self, "var_name", None),
                 use_variables=getattr(self, "use_variables", False))
    x_float = _qmath.to_float_tensor(x, type(self).__name__)
    if _qmath.has_no_elements(x_float):
      # Nothing to quantize (and no data to scale by): an empty result of
      # the input's shape. The scale and the seed stay as they were.
      y = ops.zeros_like(x_float)
    else:
      y = self._call_checked(x_float, training)
    if _qmath.returns_host(x, y):  # JAX, NumPy in: NumPy out (with .numpy())
      y = _qmath.host_array(y)
      for name in ("scale", "quantization_scale"):  # what tools read after
        value = getattr(self, name, None)
        if _is_settable(self, name) and value is not None and (
            not isinstance(value, (float, int, np.ndarray))):
          setattr(self, name, _qmath.host_array(value))
    return y

  def _call_checked(self, x, training):
    """``call(x, training)``; subclasses wrap it (e.g. against overflow)."""
    return self.call(x, training)

  def call(self, x, training=None):
    raise NotImplementedError

  # ------------------------------------------------------------------
  # Serialization.
  # ------------------------------------------------------------------
  def get_config(self):
    """The constructor arguments described in ``_ARGS`` (JSON-friendly)."""
    cls = _quantizer_args.describing_class(type(self))
    if cls is None:
      raise NotImplementedError
    return self._serialize({
        arg.name: arg.config_value(getattr(self, arg.attribute))
        for arg in cls._ARGS if arg.config  # pylint: disable=protected-access
    })

  def __str__(self):
    """``name(arg,...)`` as QKeras writes it, from the ``_ARGS`` description."""
    if _quantizer_args.describing_class(type(self)) is None:
      return object.__repr__(self)
    defaults = {
        name: p.default
        for name, p in inspect.signature(type(self).__init__).parameters.items()
    }
    return _quantizer_args.str_text(self, defaults)

  @classmethod
  def from_config(cls, config):
    """``cls(**config)``; unknown keys raise a ValueError naming them."""
    config = dict(config)
    params = inspect.signature(cls.__init__).parameters
    unknown = [k for k in config if k not in params]
    if unknown and not any(
        p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()):
      raise ValueError(
          f"{cls.__name__}.from_config: unknown config key(s) {unknown}; "
          f"allowed: {[p for p in params if p != 'self']}.")
    return cls(**config)

  def _serialize(self, config):
    return {k: _to_python(v) for k, v in config.items()}

  def __repr__(self):
    try:
      return f"<{self}>"
    except Exception:  # pylint: disable=broad-except
      return object.__repr__(self)


__all__ = ["BaseQuantizer", "QuantizerFormat"]
