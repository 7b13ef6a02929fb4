# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Q-layers core: the shared quantizer machinery, ``QDense``, ``QActivation``,
``QAdaptiveActivation``, the ``Clip`` constraint and ``QInitializer``.

Every Q-layer is a thin subclass of its Keras 3 layer plus ``QLayerMixin``,
the base that owns construction: the layer declares its quantizer layout in
class attributes and its explicit (upstream) ``__init__`` forwards to the
base, which

* resolves each ``*_quantizer`` argument (object, string or
  ``{"class_name", "config"}`` dict) into ``self.<name>_internal =
  get_quantizer(arg)``; weight quantizers get ``_set_trainable_parameter()``
  (QKeras switches ``alpha=None`` to ``"auto_po2"`` there); the raw argument
  stays in ``self.<name>``; weights get QKeras's automatic ``Clip`` constraint
  and ``QInitializer``;
* generates ``get_config`` (every quantizer as a ``{"class_name", "config"}``
  dict, the layout hls4ml reads), ``from_config`` and
  ``get_quantization_config``.

In ``call`` the float "shadow" weights are quantized on the fly
(``self._quantize(...)``) and ``training`` is passed to every quantizer, so
stochastic quantizers are random only in training.
"""

import collections
import functools
import sys
import types
import warnings

import keras
from keras import ops
import numpy as np

from qkeras import _inference_cache
from qkeras import _qmath
from qkeras.base_quantizer import BaseQuantizer
from qkeras.quantizers import _get_integer_bits
from qkeras.quantizers import get_quantizer
from qkeras.quantizers import quantized_bits
from qkeras.quantizers import quantized_relu

__all__ = [
    "Clip", "QInitializer", "QActivation", "QAdaptiveActivation", "QDense",
    "QLayerMixin", "QuantizerCollapseWarning",
    "get_auto_range_constraint_initializer", "get_constraint",
    "get_initializer",
]


def register_layer(obj):
  """Registers a Q-layer (or constraint/initializer) with Keras.

  Besides ``qkeras>Name`` (Keras 3 files), the plain ``Name`` is registered
  too, because Keras-2 QKeras files name their classes without a package.
  """
  keras.saving.register_keras_serializable(package="qkeras",
                                           name=obj.__name__)(obj)
  keras.saving.get_custom_objects().setdefault(obj.__name__, obj)
  return obj


def apply_quantizer(quantizer, x, training=None):
  """``quantizer(x)``; qkeras quantizers also get ``training``."""
  if isinstance(quantizer, BaseQuantizer):
    return quantizer(x, training=training)
  return quantizer(x)


def serialize_quantizer(quantizer):
  """A quantizer as its ``{"class_name", "config", ...}`` dict (None: None)."""
  if quantizer is None:
    return None
  return keras.saving.serialize_keras_object(quantizer)


def serialize_activation(value):
  """An activation argument as it appears in ``get_config``.

  A Keras built-in activation function (``keras.activations.tanh``, ...)
  is written as its name (``"tanh"``), as Keras's own layers and QKeras 0.9
  write it and as hls4ml's parsers read it; anything else (quantizers,
  QKeras functions such as ``hard_sigmoid``, user functions) keeps
  ``serialize_quantizer``'s ``{"class_name", "config", ...}`` dict. Strings
  are the caller's business (they are written as they are). Loading reads
  both forms (``get_quantizer`` takes names and dicts).
  """
  if isinstance(value, types.FunctionType):
    try:
      name = keras.activations.serialize(value)
    except ValueError:
      name = None
    if isinstance(name, str):
      return name
  return serialize_quantizer(value)


def layer_quantizer(owner, arg, value, weight=False):
  """``get_quantizer(value)`` with errors naming the layer and the argument.

  ``weight=True`` marks a weight quantizer: QKeras calls its
  ``_set_trainable_parameter()`` (``alpha=None`` -> ``"auto_po2"``).
  """
  try:
    quantizer = get_quantizer(value)
  except ValueError as e:
    raise ValueError(f"{owner}: argument '{arg}'={value!r} is not a valid "
                     f"quantizer: {e}") from None
  if weight and quantizer is not None and hasattr(quantizer,
                                                  "_set_trainable_parameter"):
    quantizer._set_trainable_parameter()  # pylint: disable=protected-access
  return quantizer


def constructor_arguments(local_vars):
  """A constructor's explicit arguments, from its ``locals()`` (without
  ``self``, ``kwargs`` and ``__class__``)."""
  return {k: v for k, v in local_vars.items()
          if k not in ("self", "kwargs", "__class__")}


def construction_stacklevel(layer):
  """The ``stacklevel`` that makes a warning, issued by the caller of this
  function while ``layer`` is being built, name the user's line: the first
  frame above the caller that is not one of ``layer``'s ``__init__``s."""
  frame, level = sys._getframe(2), 2  # pylint: disable=protected-access
  while (frame is not None and frame.f_code.co_name == "__init__" and
         frame.f_locals.get("self") is layer):
    frame, level = frame.f_back, level + 1
  return level


def check_ranges(layer, **ranges):
  """Validates QKeras's deprecated ``*_range`` arguments and warns.

  A range has no effect on the computation (as in QKeras), but one smaller
  than what the matching quantizer produces contradicts it: ValueError.
  """
  owner = f"{type(layer).__name__}(name={layer.name!r})"
  for name, value in ranges.items():
    if value is None:
      continue
    if isinstance(value, bool) or not isinstance(value, (int, float,
                                                         np.number)) or (
                                                             value <= 0):
      raise ValueError(f"{owner}: argument '{name}' must be None or a "
                       f"positive number, got {value!r}.")
    quantizer = getattr(layer, name.replace("_range", "_quantizer_internal"),
                        None)
    if quantizer is not None and hasattr(quantizer, "max"):
      bound = max(1.0, float(quantizer.max()))
      if value < bound:
        raise ValueError(
            f"{owner}: argument '{name}'={value!r} contradicts {quantizer}, "
            f"whose values reach {bound}; use {name}={bound} or None.")
    warnings.warn(f"{name} is deprecated in {type(layer).__name__} layer.",
                  stacklevel=construction_stacklevel(layer))


def reject_foreign_quantizers(owner, kwargs):
  """A ``*_quantizer`` or ``*_range`` argument the layer does not have."""
  for key, value in kwargs.items():
    if key.endswith(("_quantizer", "_range", "_activation")):
      raise ValueError(f"{owner}: argument '{key}'={value!r} is not allowed: "
                       "this layer has no such quantizer.")


# ==========================================================================
# Constraint and initializer.
# ==========================================================================
@register_layer
class Clip(keras.constraints.Constraint):
  """Clips weights to ``[min_value, max_value]``.

  With a user ``constraint``, that constraint (and then ``quantizer``) is
  applied first. Only the bounds are serialized, as in QKeras.
  """

  def __init__(self, min_value=0.0, max_value=1.0, constraint=None,
               quantizer=None):
    self.min_value = min_value
    self.max_value = max_value
    self.constraint = keras.constraints.get(constraint)
    if isinstance(self.constraint, Clip):  # a nested Clip is dropped
      self.constraint = None
    self.quantizer = get_quantizer(quantizer)

  def __call__(self, w):
    if self.constraint:
      w = self.constraint(w)
      if self.quantizer:
        w = apply_quantizer(self.quantizer, w)
    return _qmath.clip(w, self.min_value, self.max_value)

  def get_config(self):
    return {"min_value": self.min_value, "max_value": self.max_value}

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    return cls(config.pop("min_value", 0.0), config.pop("max_value", 1.0),
               config.pop("constraint", None), config.pop("quantizer", None))


@register_layer
class QInitializer(keras.initializers.Initializer):
  """Rescales an initializer so that the quantizer sees more than one level.

  Draws ``x``; if the quantizer's step ``max() * 2**-bits`` exceeds
  ``std(x)`` and the initializer has a ``scale`` (the VarianceScaling
  family), the scale is multiplied by ``max(s, 1)`` with ``s`` the
  least-squares ratio of ``q(x)`` to ``x`` and ``x`` is drawn again. Returns
  ``x`` clipped to ``[-max(), max()]``.
  """

  def __init__(self, initializer, use_scale, quantizer):
    self.initializer = get_initializer(initializer)
    self.use_scale = use_scale
    self.quantizer = get_quantizer(quantizer)
    self.is_po2 = (isinstance(self.quantizer, BaseQuantizer) and
                   self.quantizer.format.po2)

  def __call__(self, shape, dtype=None):
    x = _qmath.to_numpy(self.initializer(shape, dtype))
    q_max = float(self.quantizer.max())
    delta = q_max * 2.0**-self.quantizer.bits
    if delta > np.std(x) and hasattr(self.initializer, "scale"):
      q = _qmath.to_numpy(apply_quantizer(self.quantizer, x))
      if np.max(np.abs(q)) == 0.0:
        scale = q_max / np.sqrt(np.mean(x * x))
      else:
        scale = np.sum(q * q) / np.sum(q * x)
      self.initializer.scale *= max(float(scale), 1.0)
      x = _qmath.to_numpy(self.initializer(shape, dtype))
    return ops.convert_to_tensor(np.clip(x, -q_max, q_max), dtype=dtype)

  def get_config(self):
    return {
        "initializer": keras.saving.serialize_keras_object(self.initializer),
        "use_scale": self.use_scale,
        "quantizer": serialize_quantizer(self.quantizer),
    }

  @classmethod
  def from_config(cls, config):
    return cls(**config)


def get_constraint(identifier, quantizer):
  """The user's constraint, or QKeras's automatic ``Clip(-M, M)``.

  ``M = max(1, quantizer.max())`` (1 for quantizers without ``max``).
  """
  if identifier:
    if isinstance(identifier, dict) and identifier.get("class_name") == "Clip":
      return Clip.from_config(identifier["config"])
    return keras.constraints.get(identifier)
  max_value = max(1, quantizer.max()) if hasattr(quantizer, "max") else 1.0
  return Clip(-max_value, max_value, identifier, quantizer)


def get_initializer(identifier):
  """An initializer from None, a name, a config dict or an object."""
  if identifier is None:
    return None
  if isinstance(identifier, dict):
    if identifier.get("class_name") == "QInitializer":
      return QInitializer.from_config(identifier["config"])
    return keras.initializers.get(identifier)
  if isinstance(identifier, str):
    return keras.initializers.get(identifier)
  if callable(identifier):
    return identifier
  raise ValueError("Could not interpret initializer identifier: " +
                   str(identifier))


def get_auto_range_constraint_initializer(quantizer, constraint, initializer):
  """QKeras's automatic weight constraint and initializer for a quantizer.

  Without a quantizer both are returned unchanged. Otherwise the constraint
  becomes ``get_constraint(constraint, quantizer)`` and the initializer is
  wrapped in ``QInitializer`` unless it is Ones/Zeros/QInitializer or the
  quantizer has a string alpha ("auto"/"auto_po2").
  """
  if quantizer is None:
    return constraint, initializer
  constraint = get_constraint(constraint, quantizer)
  initializer = get_initializer(initializer)
  if initializer is not None and not isinstance(
      initializer, (keras.initializers.Ones, keras.initializers.Zeros,
                    QInitializer)):
    if not isinstance(getattr(quantizer, "alpha", None), str):
      initializer = QInitializer(initializer, use_scale=True,
                                 quantizer=quantizer)
  return constraint, initializer


# ==========================================================================
# The shared quantizer machinery.
# ==========================================================================
def layer_quantizer_objects(layer):
  """The distinct qkeras quantizers a layer holds (in attributes or lists)."""
  found, seen = [], set()
  for value in list(vars(layer).values()):
    items = value if isinstance(value, (list, tuple)) else (value,)
    for item in items:
      if isinstance(item, BaseQuantizer) and id(item) not in seen:
        seen.add(id(item))
        found.append(item)
  return found


class QuantizerStateMixin:
  """Adds the state of a layer's quantizers to ``layer.variables``.

  Stochastic quantizers own a ``keras.random.SeedGenerator`` and scheduled
  ones a ``qnoise_factor`` variable. Keras threads a layer's ``variables``
  (not only its weights) through compiled steps — JAX's jit needs them there,
  or a step would freeze their first value — so they are listed there; they
  are not weights (not saved, not in ``get_weights()``, not trained).
  """

  @property
  def variables(self):
    variables = list(super().variables)
    seen = {id(v) for v in variables}
    for quantizer in layer_quantizer_objects(self):
      for v in quantizer.state_variables():
        if id(v) not in seen:
          seen.add(id(v))
          variables.append(v)
    return variables


def _config_value(value):
  """An own argument as it appears in ``get_config``: plain values as they
  are, arrays as lists, Keras built-in activations as their names, other
  objects (quantizers, QKeras activations, initializers) as their
  ``{"class_name", "config"}`` dicts (``serialize_activation``)."""
  if value is None or isinstance(value, (bool, int, float, str, list, tuple,
                                         dict)):
    return value
  if isinstance(value, np.ndarray):
    return value.tolist()
  return serialize_activation(value)


def quantization_config(layer, keys):
  """``{key: str(value)}`` for ``get_quantization_config``.

  A ``*_quantizer`` key reads ``<key>_internal``, any other key the attribute
  of that name; a ``(key, value)`` pair is a fixed value (upstream's quirks,
  e.g. QDepthwiseConv2D's ``("filters", None)``).
  """
  config = {}
  for key in keys:
    if isinstance(key, tuple):
      key, value = key
    elif key.endswith("_quantizer"):
      value = getattr(layer, key + "_internal")
    else:
      value = getattr(layer, key)
    config[key] = str(value)
  return config


# ==========================================================================
# Collapsing quantizers.
# ==========================================================================
class QuantizerCollapseWarning(UserWarning):
  """A weight quantizer turns most of a weight tensor into zero or clips it.

  Issued (``warnings.warn``) once per layer and weight each time a check
  runs: when a Q-layer is built (its initial weights, tensors of 16 weights
  or more), by
  ``qkeras.utils.check_quantizer_collapse(model)`` and by the callback
  ``qkeras.callbacks.QuantizerCollapseCheck`` (after ``fit``). Silence it
  with ``warnings.filterwarnings("ignore",
  category=qkeras.QuantizerCollapseWarning)``.
  """


# A weight tensor collapses when more than this fraction of it quantizes to
# zero or to the quantizer's clip limits.
COLLAPSE_THRESHOLD = 0.9

# The build-time check leaves out smaller tensors (random initial values).
_MIN_INITIAL_SIZE = 16

# The build-time check looks at about this many values of a larger tensor.
_BUILD_SAMPLE = 4096

# A value beyond every fixed-scale grid: the quantizer's output for it (and
# for its negative) is the grid's clip limit.
_PROBE = 2.0**40

# A variable's name -> the quantizer arguments that may quantize it (the
# first one the layer has); other variables: "<name>_quantizer".
_VARIABLE_QUANTIZERS = {
    "kernel": ("kernel_quantizer", "depthwise_quantizer"),
    "depthwise_kernel": ("depthwise_quantizer", "depthwise_kernel_quantizer"),
    "pointwise_kernel": ("pointwise_quantizer", "pointwise_kernel_quantizer"),
    "recurrent_kernel": ("recurrent_quantizer",),
    "moving_mean": ("mean_quantizer",),
    "moving_variance": ("variance_quantizer",),
}

CollapseFractions = collections.namedtuple(
    "CollapseFractions", ["quantizer", "zeros", "clipped", "size"])
CollapseFractions.__doc__ = """How much of one weight tensor a quantizer loses.

``zeros``: the fraction of the non-zero float weights that quantize to 0;
``clipped``: the fraction of all weights at or beyond the quantizer's clip
limits (None where the quantizer has no fixed limits: a data-fitted scale,
``alpha="auto"``/``"auto_po2"``, or binary and ternary grids, whose
every non-zero value is a limit, e.g. ``quantized_bits(2,0,1)``; for an
unsigned quantizer only the top limit counts); ``size``: the number of
weights; ``quantizer``: the quantizer's ``str()``."""


def _active_weight_quantizer(layer, argument):
  """``layer``'s quantizer ``argument`` if it is one of its
  ``_weight_quantizers`` and set (a falsy argument means "no
  quantization", as in ``_quantize``); else None."""
  if argument not in layer._weight_quantizers or not getattr(  # pylint: disable=protected-access
      layer, argument, None):
    return None
  return getattr(layer, argument + "_internal", None)


def _weight_quantizer_of(layer, variable_name):
  """The weight quantizer that ``layer``'s ``call`` applies to its variable
  ``variable_name`` (the first of the variable's quantizer arguments that
  the layer has; None if none)."""
  for argument in _VARIABLE_QUANTIZERS.get(
      variable_name, (variable_name + "_quantizer",)):
    if hasattr(layer, argument + "_internal"):
      return _active_weight_quantizer(layer, argument)
  return None


def quantized_weights(layer):
  """``[(name, float_value, quantizer), ...]``: the weights of a Q-layer
  that its weight quantizers (``_weight_quantizers``: kernels, recurrent
  kernels, ``QScaleShift``'s weight and bias, batch norm's gamma and
  variance) quantize in ``call``, as NumPy arrays.

  A batch-norm-folded layer gives its folded kernel (what its kernel
  quantizer sees). Biases are left out: they start at zero, after a short
  training they are often smaller than one step, and a bias quantized to
  zero leaves the layer working.
  """
  if hasattr(layer, "get_folded_weights"):
    kernel, _ = layer.get_folded_weights()
    found = [("kernel", kernel, _active_weight_quantizer(
        layer, layer._kernel_quantizer_name))]  # pylint: disable=protected-access
  else:
    found = [(v.name, v, _weight_quantizer_of(layer, v.name))
             for v in layer.weights]
  return [(name, _qmath.to_numpy(value), quantizer)
          for name, value, quantizer in found
          if isinstance(quantizer, BaseQuantizer)]


def _has_fixed_limits(quantizer):
  """Whether the quantizer's grid may have data-independent clip limits
  that mean something: not a data-fitted scale (a string ``alpha``), and
  not a binary or ternary quantizer (``format.mode`` 2, 3, 4), whose every
  non-zero value is a limit (``_has_inner_levels`` checks the grid)."""
  if isinstance(getattr(quantizer, "alpha", None), str):
    return False
  return quantizer.format.mode not in (2, 3, 4)


# What a quantizer's call leaves behind for tools to read (QTools reads an
# auto_po2 kernel quantizer's ``scale``): a check must not change it.
_CALL_STATE = ("scale", "quantization_scale")


def _check_call(quantizer, x):
  """``quantizer(x, training=False)`` as a NumPy array, leaving the
  quantizer's ``_CALL_STATE`` attributes as they were."""
  saved = {name: getattr(quantizer, name) for name in _CALL_STATE
           if hasattr(quantizer, name)}
  try:
    return _qmath.to_numpy(apply_quantizer(quantizer, x, training=False))
  finally:
    for name, value in saved.items():
      setattr(quantizer, name, value)


def _has_inner_levels(quantizer, hi):
  """Whether the grid has a positive level below its top ``hi`` (the
  output for ``hi / 2`` is one where there is any). Without one, e.g.
  ``quantized_bits(2,0,1)`` (levels -0.5, 0, 0.5), the grid is ternary or
  binary in effect: every non-zero value is a limit, and the clip fraction
  says nothing."""
  mid = _check_call(quantizer, hi / 2)
  return bool(np.any((mid > 0) & (mid < hi)))


def collapse_fractions(weight, quantizer):
  """``CollapseFractions`` of the float array ``weight`` under
  ``quantizer``, or None for an empty or constant tensor (a constant
  initializer such as a zero bias or a unit gamma is a choice, not a
  collapse).

  The quantizer is called with ``training=False`` (stochastic quantizers
  round deterministically) on ``weight`` and, for the clip limits, on
  arrays of ``+-2**40`` of the same shape (so that per-channel scales
  broadcast as in ``call``), stacked with ``weight`` into one call. The
  lower limit counts only where it is negative: an unsigned quantizer
  (``quantized_relu``, ...) used on weights cuts the negative ones at its
  sign, which ``zeros`` counts where they become 0. The quantizer's
  ``scale`` (what tools read after a call) is left as it was.
  """
  weight = np.asarray(weight, np.float32)
  if weight.size == 0 or np.all(weight == weight.flat[0]):
    return None
  fixed = _has_fixed_limits(quantizer)
  if fixed:  # one call: a fixed grid quantizes each value by itself
    q, hi, lo = _check_call(quantizer, np.stack(
        [weight, np.full_like(weight, _PROBE),
         np.full_like(weight, -_PROBE)]))
  else:
    q = _check_call(quantizer, weight)
  nonzero = weight != 0
  zeros = float(np.sum(nonzero & (q == 0)) / max(np.sum(nonzero), 1))
  clipped = None
  if fixed and _has_inner_levels(quantizer, hi):
    with np.errstate(invalid="ignore"):
      # An unsigned quantizer's lower limit (0, or its smallest power of
      # two) is its sign cut, not its range: only a signed one clips there.
      clipped = float(np.mean((weight >= hi) | ((lo < 0) & (weight <= lo))))
  return CollapseFractions(str(quantizer), zeros, clipped, int(weight.size))


def _build_sample(weight, quantizer):
  """At most about ``_BUILD_SAMPLE`` of ``weight``'s values for the
  build-time check: evenly spaced rows of ``weight`` seen as ``(rows, last
  axis)``, where the quantizer treats the rows alike (it quantizes each
  value by itself, or fits one scale per last-axis entry, the default for
  kernels); else (other scale axes, ``elements_per_scale``, vectors) all of
  ``weight``. A fitted scale then comes from the sampled rows: the
  fractions are estimates, close enough for a 90% threshold."""
  if weight.ndim < 2 or weight.size <= _BUILD_SAMPLE:
    return weight
  if getattr(quantizer, "elements_per_scale", None) is not None:
    return weight
  if isinstance(getattr(quantizer, "alpha", None), str) and list(
      _qmath.scaling_axes(getattr(quantizer, "scale_axis", None),
                          weight.ndim)) != list(range(weight.ndim - 1)):
    return weight
  rows = weight.reshape(-1, weight.shape[-1])
  count = max(1, _BUILD_SAMPLE // rows.shape[1])
  if count >= rows.shape[0]:
    return weight
  return rows[np.linspace(0, rows.shape[0] - 1, count).round().astype(int)]


def _collapse_entries(layer, sample=False):
  """``[(weight_name, CollapseFractions, quantizer), ...]`` of a Q-layer's
  quantized weights (constant and empty tensors left out); with
  ``sample``, from ``_build_sample`` of each (``size`` stays the
  tensor's)."""
  entries = []
  for name, value, quantizer in quantized_weights(layer):
    checked = _build_sample(value, quantizer) if sample else value
    fractions = collapse_fractions(checked, quantizer)
    if fractions is not None:
      entries.append((name, fractions._replace(size=int(value.size)),
                      quantizer))
  return entries


def layer_collapse(layer):
  """``{weight_name: CollapseFractions}`` of a Q-layer's quantized weights
  (constant and empty tensors left out)."""
  return {name: fractions for name, fractions, _ in _collapse_entries(layer)}


def _percent(fraction):
  return f"{100.0 * fraction:.1f}%"


def _zero_advice(quantizer):
  """What makes ``quantizer``'s step finer than the weights it zeroes."""
  if hasattr(quantizer, "integer"):
    return "use more bits or fewer integer bits" + (
        " or alpha='auto_po2' (a scale fitted to the weights)"
        if hasattr(quantizer, "alpha") else "")
  if quantizer.format.mode == 2:
    return ("use a lower threshold or alpha='auto' (a scale fitted to the "
            "weights)")
  return "use a quantizer with a finer grid"


def _clip_advice(quantizer):
  """What widens ``quantizer``'s range over the weights it clips."""
  if hasattr(quantizer, "integer"):
    return "use more integer bits" + (
        " or alpha='auto_po2' (a scale fitted to the weights)"
        if hasattr(quantizer, "alpha") else "")
  if hasattr(quantizer, "max_value"):
    return "use a larger max_value"
  return "use a quantizer with a wider range"


def collapse_message(layer, weight, fractions, when, quantizer,
                     threshold=COLLAPSE_THRESHOLD):
  """The warning text for one weight, or None when it does not collapse
  (neither fraction above ``threshold``).

  ``when`` says which values were looked at ("initial", "trained",
  "current"); the text names the layer, the weight, the quantizer and the
  fraction, and suggests a remedy (``_zero_advice``, ``_clip_advice``; for
  initial weights also the initializer's scale).
  """
  at_init = when == "initial"
  problems = []
  if fractions.zeros > threshold:
    problems.append(
        f"{_percent(fractions.zeros)} of the non-zero {when} values of "
        f"weight '{weight}' quantize to zero with {fractions.quantizer}, "
        f"whose step is too coarse for them: {_zero_advice(quantizer)}" +
        (", or a larger initializer scale" if at_init else ""))
  if fractions.clipped is not None and fractions.clipped > threshold:
    problems.append(
        f"{_percent(fractions.clipped)} of the {when} values of weight "
        f"'{weight}' are clipped to the limits of {fractions.quantizer}, "
        f"whose range is too small for them: {_clip_advice(quantizer)}" +
        (", or a smaller initializer scale" if at_init else ""))
  if not problems:
    return None
  owner = f"{type(layer).__name__}(name={layer.name!r})"
  path = getattr(layer, "path", None)
  if path and path != layer.name:  # an RNN's cell, a nested layer
    owner += f" at {path!r}"
  return f"{owner}: " + "; ".join(problems) + "."


def _user_stacklevel():
  """The ``stacklevel`` (for a ``warnings.warn`` in the caller of this
  function) of the first frame outside qkeras, Keras and the backends: the
  user's line that built the layer or ran the check."""
  internal = ("qkeras.", "keras", "tensorflow", "jax", "torch", "optree",
              "contextlib", "functools", "tree")
  frame, level = sys._getframe(2), 2  # pylint: disable=protected-access
  while frame is not None and frame.f_globals.get("__name__", "").startswith(
      internal):
    frame, level = frame.f_back, level + 1
  return level if frame is not None else 2


def _issue_collapse_warnings(layer, entries, when, threshold):
  for weight, fractions, quantizer in entries:
    message = collapse_message(layer, weight, fractions, when, quantizer,
                               threshold)
    if message is not None:
      warnings.warn(message, QuantizerCollapseWarning,
                    stacklevel=_user_stacklevel())


def warn_collapse(layer, when, threshold=COLLAPSE_THRESHOLD):
  """Checks a Q-layer's quantized weights and issues one
  ``QuantizerCollapseWarning`` per weight of which more than ``threshold``
  quantizes to zero or is clipped (``collapse_message``); returns
  ``layer_collapse(layer)``."""
  entries = _collapse_entries(layer)
  _issue_collapse_warnings(layer, entries, when, threshold)
  return {name: fractions for name, fractions, _ in entries}


def _deferred_weights(layer):
  """Whether ``layer`` was built inside a ``keras.StatelessScope`` or has a
  variable whose initialization Keras deferred (no value yet)."""
  from keras.src.backend.common import stateless_scope  # pylint: disable=g-import-not-at-top
  if stateless_scope.in_stateless_scope():
    return True
  return any(getattr(v, "_value", 0) is None for v in layer.weights)


def _warn_collapse_after_build(layer):
  """The build-time check: ``warn_collapse(layer, "initial")``.

  It looks at a sample of a large tensor (``_build_sample``: about 4096
  values), so that its cost does not grow with the layer. Tensors of fewer
  than ``_MIN_INITIAL_SIZE`` weights are not reported:
  90% of a handful of random initial values says little about the
  quantizer (``check_quantizer_collapse`` reports them). It must never make
  building fail: weights without a concrete value (a layer built inside a
  traced function) are not checked, nor weights whose initialization is
  deferred (a layer built inside ``keras.StatelessScope``, as ``load_qmodel``
  does to count a file's weights: reading them aborts the process on JAX).
  """
  if _deferred_weights(layer):
    return
  try:
    entries = [entry for entry in _collapse_entries(layer, sample=True)
               if entry[1].size >= _MIN_INITIAL_SIZE]
  except Exception:  # pylint: disable=broad-except
    return
  _issue_collapse_warnings(layer, entries, "initial", COLLAPSE_THRESHOLD)


class QLayerMixin(QuantizerStateMixin):
  """The base of every Q-layer: it owns construction and serialization.

  A Q-layer is its Keras layer plus this base; the class declares its
  quantizer layout once, in class attributes, and its ``__init__`` (the
  upstream explicit signature) only forwards its arguments to
  ``QLayerMixin.__init__``:

  * ``_quantizer_names``: the ``*_quantizer`` arguments, in the order of
    ``get_quantizers()``;
  * ``_weight_quantizers``: those that quantize weights (QKeras calls their
    ``_set_trainable_parameter()``: ``alpha=None`` -> ``"auto_po2"``);
  * ``_constrained_weights``: ``{prefix: gate}``, the weights whose
    ``<prefix>_constraint``/``<prefix>_initializer`` become QKeras's automatic
    ``Clip``/``QInitializer`` for ``<prefix>_quantizer`` (when the boolean
    argument ``gate``, e.g. ``"use_bias"``, is true; None: always);
  * ``_activation_names``: activation-like arguments, resolved like quantizers
    (``layer_quantizer``); ``_listed_activations`` of them are appended to
    ``get_quantizers()``;
  * ``_range_names``: QKeras's deprecated ``*_range`` arguments (checked by
    ``check_ranges``, stored, serialized);
  * ``_own_names``: arguments the Keras parent does not take (stored as
    attributes and serialized; activations among them resolved first);
  * ``_legacy_keys``: Keras-2 config keys dropped by ``from_config``;
  * ``_quantization_config``: the keys of ``get_quantization_config()`` (see
    ``quantization_config``); None: the layer has no such method (upstream).

  ``__init__`` pops and resolves all of these, calls the Keras parent with the
  rest, then stores ``self.<name>`` (the raw argument), ``self.<name>_internal``
  (the quantizer object) and ``self.quantizers``. ``get_config``,
  ``from_config`` and ``get_quantization_config`` follow the same declaration.
  In ``call``, ``_quantize``/``_activate`` apply the quantizers with
  ``training``.
  """

  _quantizer_names = ()
  _weight_quantizers = ()
  _constrained_weights = {}
  _activation_names = ()
  _listed_activations = ()
  _range_names = ()
  _own_names = ()
  # Keys that Keras-2 configs of this layer carry but Keras 3 rejects (they
  # had no effect there either); dropped when loading old files.
  _legacy_keys = ()
  _quantization_config = None

  def __new__(cls, *args, **kwargs):
    """Adds the collapse check to the layer's build.

    Keras's ``Layer.__new__`` replaces ``obj.build`` by a wrapper that runs
    the (most derived) ``build`` and marks the layer built; this wraps that
    once more, so the initial weights are checked after the whole build,
    whichever class defines it (``_warn_collapse_after_build``). ``call``
    is untouched: there is no per-step cost.
    """
    obj = super().__new__(cls, *args, **kwargs)
    keras_build = obj.build

    @functools.wraps(keras_build)
    def build(*build_args, **build_kwargs):
      keras_build(*build_args, **build_kwargs)
      _warn_collapse_after_build(obj)

    obj.build = build
    return obj

  def __init__(self, **arguments):
    owner = f"{type(self).__name__}(name={arguments.get('name')!r})"
    declared = (self._quantizer_names + self._activation_names +
                self._range_names + self._own_names)
    reject_foreign_quantizers(owner, {k: v for k, v in arguments.items()
                                      if k not in declared})
    self._prepare_arguments(owner, arguments)
    raw = {name: arguments.pop(name) for name in self._quantizer_names}
    internal = {name: layer_quantizer(owner, name, value,
                                      weight=name in self._weight_quantizers)
                for name, value in raw.items()}
    self._constrain_weights(arguments, internal)
    for name in self._activation_names:
      arguments[name] = layer_quantizer(owner, name, arguments[name])
    ranges = {name: arguments.pop(name) for name in self._range_names}
    own = {name: arguments.pop(name) for name in self._own_names}
    super().__init__(**arguments)
    for name in raw:
      setattr(self, name, raw[name])
      setattr(self, name + "_internal", internal[name])
    for name, value in own.items():
      setattr(self, name, value)
    self.quantizers = list(internal.values()) + [
        getattr(self, name) for name in self._listed_activations]
    for name, value in ranges.items():
      setattr(self, name, value)
    check_ranges(self, **ranges)
    mode = self.dtype_policy.quantization_mode
    if mode is not None:
      raise ValueError(
          f"{type(self).__name__}(name={self.name!r}): argument "
          f"'dtype'={self.dtype_policy.name!r} asks for "
          f"Keras's {mode} quantization, which a Q-layer does not support: "
          "its quantizers already quantize it. Use a float dtype policy "
          "(e.g. 'float32').")

  def quantize(self, mode=None, type_check=True, config=None):
    """Refuses Keras's own quantization (``layer.quantize("int8")``, and
    the modes "int4", "float8", "gptq", "awq"), whatever ``type_check``.

    A Q-layer is quantized by its quantizers; Keras's modes replace the
    kernel with an integer one that the Q-layer's ``call`` would read as
    floats. Setting a quantized ``dtype_policy`` on a built Q-layer (which
    makes Keras call ``quantize``) is refused the same way and leaves the
    float policy. Raises NotImplementedError, the error ``Model.quantize``
    expects from layers it cannot quantize: it then warns with this
    message, skips the Q-layer and quantizes the model's plain Keras layers.
    """
    del type_check, config  # refused whatever they are
    policy = self.dtype_policy
    if policy.quantization_mode is not None:
      # Keras's ``dtype_policy`` setter stores a quantized policy before it
      # calls ``quantize``: back to the float policy it was made from.
      self.dtype_policy = policy.name.rpartition("_from_")[2]
    quantizers = ", ".join(str(q) for q in self.get_quantizers()
                           if q is not None)
    raise NotImplementedError(
        f"{type(self).__name__}(name={self.name!r}): Keras's "
        f"quantize({mode!r}) is not supported on a Q-layer, which is "
        "already quantized by its quantizers" +
        (f" ({quantizers})" if quantizers else "") + "; Model.quantize "
        "skips it. To change its precision, change its quantizers "
        "(set_quantizer); for Keras's int8/int4/float8 quantization use the "
        "plain Keras layer instead.")

  def _prepare_arguments(self, owner, arguments):
    """Checks or normalizes layer-specific arguments (in place) before the
    quantizers are resolved; nothing by default."""

  def _constrain_weights(self, arguments, internal):
    """QKeras's automatic constraints and initializers, in ``arguments``."""
    for prefix, gate in self._constrained_weights.items():
      if gate is not None and not arguments[gate]:
        continue
      constraint, initializer = get_auto_range_constraint_initializer(
          internal[prefix + "_quantizer"],
          arguments.get(prefix + "_constraint"),
          arguments[prefix + "_initializer"])
      if prefix + "_constraint" in arguments:
        arguments[prefix + "_constraint"] = constraint
      arguments[prefix + "_initializer"] = initializer

  @classmethod
  def from_config(cls, config):
    config = {k: v for k, v in config.items() if k not in cls._legacy_keys}
    return super().from_config(config)

  def get_config(self):
    config = super().get_config()
    for name in self._quantizer_names:
      config[name] = serialize_quantizer(getattr(self, name + "_internal"))
    for name in self._range_names + self._own_names:
      config[name] = _config_value(getattr(self, name))
    return config

  @property
  def get_quantization_config(self):
    """``get_quantization_config()``: the layer's quantizers (and a few
    attributes) as strings; absent (AttributeError) where upstream's layer
    has no such method."""
    keys = self._quantization_config
    if keys is None:
      raise AttributeError(f"{type(self).__name__} has no "
                           "get_quantization_config.")
    return lambda: quantization_config(self, keys)

  def _add_weight_from_settings(self, name, shape, prefix):
    """A weight ``name`` of ``shape`` with the layer's
    ``<prefix>_initializer``, ``<prefix>_regularizer`` and (if it has one)
    ``<prefix>_constraint``."""
    return self.add_weight(
        name=name, shape=shape,
        initializer=getattr(self, prefix + "_initializer"),
        regularizer=getattr(self, prefix + "_regularizer"),
        constraint=getattr(self, prefix + "_constraint", None))

  def _add_bias_weight(self, units):
    """``self.bias``: a ``(units,)`` weight with the layer's bias
    initializer, regularizer and constraint (None without ``use_bias``)."""
    self.bias = (self._add_weight_from_settings("bias", (units,), "bias")
                 if self.use_bias else None)

  def _quantize(self, name, value, training=None):
    """Applies quantizer ``name`` to ``value`` when one was given.

    As in QKeras, the test is on the raw argument (a falsy argument means
    "no quantization").
    """
    quantizer = getattr(self, name + "_internal")
    if not getattr(self, name) or quantizer is None:
      return value
    if name in self._weight_quantizers and _inference_cache.applies(
        quantizer, value, training):
      return _inference_cache.quantize_weight(
          self, name, value,
          lambda: apply_quantizer(quantizer, value, training))
    return apply_quantizer(quantizer, value, training)

  def _activate(self, x, training=None):
    if self.activation is None:
      return x
    return apply_quantizer(self.activation, x, training)

  def get_quantizers(self):
    """The layer's quantizer objects (None where not set)."""
    return list(self.quantizers)

  def set_quantizer(self, name, quantizer):
    """Replaces quantizer ``name`` (e.g. ``"bias_quantizer"``).

    ``quantizer`` is anything ``get_quantizer`` takes (an object, a string
    such as ``"quantized_bits(8, 0, 1)"``, a config dict, or None); the raw
    argument, the object and ``get_quantizers()`` all change together.
    """
    names = list(self._quantizer_names)
    owner = f"{type(self).__name__}(name={self.name!r})"
    if name not in names:
      raise ValueError(f"{owner}: no quantizer {name!r}; it has {names}.")
    internal = layer_quantizer(owner, name, quantizer)
    setattr(self, name, quantizer)
    setattr(self, name + "_internal", internal)
    self.quantizers[names.index(name)] = internal


def _add_bias(layer, outputs, bias, rank, channels):
  """``outputs + bias`` on the channel axis of a conv/dense output."""
  if layer.data_format == "channels_first" and rank:
    shape = (1, channels) + (1,) * rank
  else:
    shape = (1,) * (rank + 1) + (channels,)
  return ops.add(outputs, ops.reshape(bias, shape))


# ==========================================================================
# QDense
# ==========================================================================
@register_layer
class QDense(QLayerMixin, keras.layers.Dense):
  """``Dense`` with quantized kernel and bias.

  ``y = activation(x @ kernel_quantizer(kernel) + bias_quantizer(bias))``.
  The default kernel initializer is ``he_normal`` (QKeras), and a kernel
  quantizer with ``alpha=None`` is switched to ``alpha="auto_po2"`` (QKeras's
  ``_set_trainable_parameter``; pass ``alpha=1`` for plain fixed point).
  """

  _quantizer_names = ("kernel_quantizer", "bias_quantizer")
  _weight_quantizers = ("kernel_quantizer",)
  _constrained_weights = {"kernel": None, "bias": "use_bias"}
  _activation_names = ("activation",)
  _range_names = ("kernel_range", "bias_range")
  _quantization_config = ("kernel_quantizer", "bias_quantizer", "activation",
                          "units")

  def __init__(self, units, activation=None, use_bias=True,
               kernel_initializer="he_normal", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, kernel_quantizer=None,
               bias_quantizer=None, kernel_range=None, bias_range=None,
               **kwargs):
    super().__init__(**constructor_arguments(locals()), **kwargs)

  def _linear(self, inputs, kernel):
    """The layer's linear map with ``kernel``: ``inputs @ kernel``."""
    return ops.matmul(inputs, kernel)

  def call(self, inputs, training=None):
    kernel = self._quantize("kernel_quantizer", self.kernel, training)
    outputs = self._linear(inputs, kernel)
    if self.use_bias:
      outputs = ops.add(outputs,
                        self._quantize("bias_quantizer", self.bias, training))
    return self._activate(outputs, training)

  def get_prunable_weights(self):
    return [self.kernel]


# ==========================================================================
# QActivation
# ==========================================================================
@register_layer
class QActivation(QLayerMixin, keras.layers.Layer):
  """Applies a quantizer (or any activation) to its input.

  ``activation`` is a quantizer object, a quantizer string such as
  ``"quantized_relu(3)"``, a ``{"class_name", "config"}`` dict or a Keras
  activation name. ``self.activation`` keeps the argument (the object for
  dicts), ``self.quantizer`` the callable.
  """

  # ``activation`` is resolved here (a string stays the argument).
  _own_names = ("activation",)

  def __init__(self, activation, **kwargs):
    super().__init__(activation=activation, **kwargs)
    owner = f"QActivation(name={self.name!r})"
    if isinstance(self.activation, str):
      self.__name__ = self.activation
      self.quantizer = layer_quantizer(owner, "activation", self.activation)
    else:
      self.__name__ = getattr(self.activation, "__name__",
                              getattr(self.activation, "name",
                                      type(self.activation).__name__))
      self.quantizer = self.activation
    if not callable(self.quantizer):
      raise ValueError(f"{owner}: argument 'activation' must be a quantizer, "
                       f"a quantizer string or an activation, got "
                       f"{activation!r}.")
    self.quantizers = [self.quantizer]
    self.supports_masking = True

  def _prepare_arguments(self, owner, arguments):
    if isinstance(arguments["activation"], dict):
      arguments["activation"] = layer_quantizer(owner, "activation",
                                                arguments["activation"])

  def call(self, inputs, training=None):
    return apply_quantizer(self.quantizer, inputs, training)

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_quantization_config(self):
    return str(self.activation)

  def get_prunable_weights(self):
    return []


# ==========================================================================
# QAdaptiveActivation
# ==========================================================================
@register_layer
class QAdaptiveActivation(QuantizerStateMixin, keras.layers.Layer):
  """A quantized activation whose integer bits follow the data (experimental).

  ``activation`` is ``"quantized_bits"`` or ``"quantized_relu"``. In
  training, exponential moving averages of the batch min and max (over all
  axes, or per channel) are tracked with ``ema_decay`` until
  ``ema_freeze_delay`` steps, and the quantizer's ``integer`` bits are set
  from them (``_get_integer_bits``). Quantization starts after
  ``quantization_delay`` steps (before, the output is the float activation).
  """

  def __init__(self, activation, total_bits, current_step=None,
               symmetric=True, quantization_delay=0, ema_freeze_delay=None,
               ema_decay=0.9999, per_channel=False, po2_rounding=False,
               relu_neg_slope=0.0, relu_upper_bound=None, **kwargs):
    super().__init__(**kwargs)
    owner = f"QAdaptiveActivation(name={self.name!r})"
    if activation not in ("quantized_bits", "quantized_relu"):
      raise ValueError(
          f"{owner}: argument 'activation' must be 'quantized_bits' or "
          f"'quantized_relu' (no arguments), got {activation!r}.")
    if ema_freeze_delay is not None and ema_freeze_delay < 0:
      raise ValueError(f"{owner}: argument 'ema_freeze_delay' must be None "
                       f"or >= 0, got {ema_freeze_delay!r}.")
    self.activation_name = activation
    self.total_bits = int(total_bits)
    self.symmetric = symmetric
    self.quantization_delay = int(quantization_delay)
    self.ema_freeze_delay = ema_freeze_delay
    self.ema_decay = float(ema_decay)
    self.per_channel = per_channel
    self.po2_rounding = po2_rounding
    self.relu_neg_slope = relu_neg_slope
    self.relu_upper_bound = relu_upper_bound
    if activation == "quantized_bits":
      self.quantizer = quantized_bits(self.total_bits, 0, symmetric,
                                      keep_negative=True, alpha=1.0)
    else:
      self.quantizer = quantized_relu(
          self.total_bits, 0, negative_slope=relu_neg_slope,
          is_quantized_clip=False, relu_upper_bound=relu_upper_bound)
    self.quantizer.keep_negative = (activation == "quantized_bits" or
                                    relu_neg_slope != 0)
    if isinstance(current_step, keras.Variable) and current_step.trainable:
      # A step counter is never trained: an integer variable cannot even be
      # differentiated on JAX or PyTorch. Use it as state.
      warnings.warn(f"{owner}: the current_step variable "
                    f"{current_step.path!r} is trainable; it is made "
                    "non-trainable (a step counter is state).", stacklevel=2)
      current_step.trainable = False
    self._step_source = current_step
    self._estimate_step = not isinstance(current_step, keras.Variable)
    self._initial_step = (int(current_step) if isinstance(
        current_step, (int, float, np.integer)) else -1)
    if self._estimate_step:
      warnings.warn(f"{owner}: no step variable given (current_step); "
                    "estimating the step count from calls in training.",
                    stacklevel=2)
    self.activation = self.quantizer  # what qtools reads

  def build(self, input_shape):
    if self._estimate_step:
      self.step = self.add_weight(
          name="step", shape=(), dtype="int64", trainable=False,
          initializer=keras.initializers.Constant(self._initial_step))
    else:
      self.step = self._step_source
    channels = 1
    if self.per_channel:
      axis = -1 if keras.config.image_data_format() == "channels_last" else 1
      channels = int(input_shape[axis])
    self.ema_min = self.add_weight(name="ema_min", shape=(channels,),
                                   initializer="zeros", trainable=False)
    self.ema_max = self.add_weight(name="ema_max", shape=(channels,),
                                   initializer="zeros", trainable=False)
    self.integer_bits = self.add_weight(name="integer_bits", shape=(channels,),
                                        dtype="int32", initializer="zeros",
                                        trainable=False)
    self.quantizer.integer = self.integer_bits
    # An initializer, not a value: the variable can be created (deferred)
    # inside keras.StatelessScope, where load_qmodel counts a file's weights.
    self.quantizer.qnoise_factor = keras.Variable(
        keras.initializers.Constant(1.0), shape=(), dtype="float32",
        trainable=False, name="qnoise_factor")

  def _update_integer_bits(self):
    keep_negative = bool(self.quantizer.keep_negative)
    bits = _get_integer_bits(self.ema_min, self.ema_max, self.total_bits,
                             self.symmetric, keep_negative,
                             is_clipping=self.po2_rounding)
    self.integer_bits.assign(ops.reshape(bits, self.integer_bits.shape))

  def call(self, inputs, training=None):
    """Quantizes with the current integer bits, then (in training) updates
    the EMAs and the integer bits for the next call, as QKeras does."""
    training = bool(training) and self.trainable
    if training and self._estimate_step:
      self.step.assign_add(1)
    if training:
      quantize = ops.cast(self.step >= self.quantization_delay, "float32")
      self.quantizer.qnoise_factor.assign(quantize)
    else:
      self.quantizer.qnoise_factor.assign(1.0)
    outputs = self.quantizer(inputs)
    if training:
      self._update_ema(inputs)
    return outputs

  def _update_ema(self, inputs):
    rank = len(inputs.shape)
    if self.per_channel:
      axis = (-1 if keras.config.image_data_format() == "channels_last"
              else 1) % rank
      axes = [a for a in range(rank) if a != axis]
    else:
      axes = list(range(rank))
    unquantized = inputs
    if self.activation_name == "quantized_relu":
      slope = float(self.relu_neg_slope)
      unquantized = (_qmath.leaky_relu(inputs, slope) if slope
                     else ops.relu(inputs))
      if self.relu_upper_bound is not None:
        unquantized = _qmath.minimum(unquantized, self.relu_upper_bound)
    new_min = ops.reshape(ops.min(unquantized, axis=axes), (-1,))
    new_max = ops.reshape(ops.max(unquantized, axis=axes), (-1,))
    frozen = (self.ema_freeze_delay is not None and
              self.ema_freeze_delay >= 0)
    update = (ops.cast(self.step <= self.ema_freeze_delay, "float32")
              if frozen else 1.0)
    decay = self.ema_decay
    for ema, new in ((self.ema_min, new_min), (self.ema_max, new_max)):
      moved = ema - (ema - new) * (1.0 - decay)  # TF's moving-average update
      ema.assign(update * moved + (1.0 - update) * ema)
    self._update_integer_bits()

  def compute_output_shape(self, input_shape):
    return input_shape

  def get_weights(self):
    return []

  def set_weights(self, weights):
    pass

  def get_config(self):
    config = super().get_config()
    step = (int(_qmath.to_numpy(self.step)) if hasattr(self, "step") and
            self._estimate_step else self._initial_step)
    config.update({
        "activation": self.activation_name,
        "total_bits": self.total_bits,
        "current_step": step,
        "symmetric": self.symmetric,
        "quantization_delay": self.quantization_delay,
        "ema_freeze_delay": self.ema_freeze_delay,
        "ema_decay": self.ema_decay,
        "per_channel": self.per_channel,
        "po2_rounding": self.po2_rounding,
        "relu_neg_slope": self.relu_neg_slope,
        "relu_upper_bound": self.relu_upper_bound,
    })
    return config

  def get_quantization_config(self):
    return str(self.quantizer)

  def get_quantizers(self):
    return [self.quantizer]

  def get_prunable_weights(self):
    return []
