# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Codebook (KMeans) compression of weights and activations.

Non-uniform quantization after arXiv 1911.02079: the values of a tensor are
clustered into ``n = 2**bits`` clusters (scikit-learn ``KMeans``, 10 starts);
the cluster centers, passed through an optional quantizer and sorted, form a
codebook ``c_0 <= ... <= c_{n-1}``, and every value ``v`` is stored as the
index ``argmin_k |v - c_k|`` of its nearest entry (``bits`` bits per value).

Randomness: ``random_state=None`` (the default, as in QKeras) draws from
NumPy's global generator, so ``np.random.seed(s)`` makes a call reproducible;
an int or ``np.random.RandomState`` makes it reproducible without global
state. Successive KMeans runs of one call draw from the same generator.
"""

import logging

import keras
import numpy as np
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

from qkeras import _validate as V
from qkeras.quantizers import get_quantizer

_LOGGER = logging.getLogger(__name__)

MAX_BITS = 8


# --------------------------------------------------------------------------
# Shared pieces.
# --------------------------------------------------------------------------
def _check_bits(owner, bits):
  return V.check_int(owner, "bits", bits, 1, MAX_BITS)


def _fit_codebook(values, n, quantizer, rng):
  """KMeans with ``n`` clusters on the values; centers quantized, sorted.

  The fitted ``KMeans`` keeps the codebook as its ``cluster_centers_`` (an
  ``(n, 1)`` array), so ``km.predict`` returns codebook indexes.
  """
  km = KMeans(n_clusters=n, n_init=10, random_state=rng)
  km.fit(np.reshape(values, (-1, 1)))
  centers = km.cluster_centers_
  if quantizer is not None:
    quantized = keras.ops.convert_to_numpy(quantizer(centers))
    centers = np.asarray(quantized, centers.dtype).reshape(centers.shape)
  km.cluster_centers_ = np.sort(centers, axis=0)
  return km


def _assign(km, values):
  """The index of the nearest codebook entry of each value (same shape)."""
  flat = np.asarray(values, km.cluster_centers_.dtype).reshape(-1, 1)
  return km.predict(flat).reshape(np.shape(values))


def _decode(km, indexes):
  """Codebook values for an array of indexes."""
  return km.cluster_centers_[indexes, 0]


def create_in_out_table(km, quantizer):
  """Tables that map a quantizer's outputs to codebook values.

  ``in_table = km.cluster_centers_.flatten()`` (index -> codebook value) and
  ``out_table[j]`` = the index of the codebook entry nearest to
  ``quantizer.range()[j]``, so a quantized activation ``v = range[j]`` is
  replaced by ``in_table[out_table[j]]``.
  """
  in_table = km.cluster_centers_.flatten()
  levels = np.asarray(quantizer.range(), np.float32)
  out_table = _assign(km, levels).ravel()
  return in_table, out_table


# --------------------------------------------------------------------------
# Weights.
# --------------------------------------------------------------------------
def weight_compression(weights, bits, axis=0, quantizer=None,
                       random_state=None):
  """One codebook per slice of ``weights`` along ``axis``.

  Args:
    weights: a NumPy array.
    bits: 1..8; each codebook has ``2**bits`` entries.
    axis: the axis along which the weights are sliced (e.g. 3 for the
      output channels of a Conv2D kernel).
    quantizer: None, a quantizer (or its string) applied to the codebook
      values.
    random_state: None (NumPy's global generator), an int or a RandomState.

  Returns:
    ``(index_table, codebook_table)``: ``index_table`` has the shape of
    ``weights``; ``codebook_table`` has shape ``(weights.shape[axis],
    2**bits)``, and the slice ``i`` is rebuilt by
    ``codebook_table[i][index_table[..., i]]`` (for ``axis=-1``).
  """
  owner = "weight_compression"
  weights = np.asarray(weights)
  n = 2**_check_bits(owner, bits)
  if weights.ndim == 0:
    V.fail(owner, "weights", "an array with at least one axis", weights)
  axis = V.check_int(owner, "axis", axis, -weights.ndim, weights.ndim - 1)
  slice_size = weights.size // max(weights.shape[axis], 1)
  if slice_size < n:
    raise ValueError(
        f"{owner}: argument 'bits'={bits} needs at least 2**bits={n} values "
        f"per slice, but the slices of weights {weights.shape} along axis "
        f"{axis} have {slice_size}.")
  quantizer = get_quantizer(quantizer)
  rng = check_random_state(random_state)
  slices = np.split(weights, weights.shape[axis], axis)
  codebook_table = np.zeros((len(slices), n))
  index_table = []
  for i, w in enumerate(slices):
    km = _fit_codebook(w.ravel(), n, quantizer, rng)
    codebook_table[i, :] = km.cluster_centers_.ravel()
    index_table.append(_assign(km, w))
  return np.concatenate(index_table, axis), codebook_table


def two_tier_embedding_compression(embeddings, bits, quantizer=None,
                                   random_state=None):
  """Two-level codebooks for an embedding table (rows = tokens).

  Tier 1 clusters the rows into ``n = 2**bits`` blocks (KMeans on rows);
  tier 2 gives each block its own ``n``-entry codebook (KMeans on the
  block's values). Row ``r`` in block ``b`` is stored as ``b`` plus one
  index per value.

  Returns:
    ``(index_table, cluster_index_table, codebook_table,
    quantized_embeddings)``: ``index_table`` (uint8, shape of
    ``embeddings``), ``cluster_index_table`` (uint8, the block of each row),
    ``codebook_table`` (``n x n``, row ``b`` = block ``b``'s codebook) and
    ``quantized_embeddings[r, j] = codebook_table[cluster_index_table[r],
    index_table[r, j]]``.
  """
  owner = "two_tier_embedding_compression"
  embeddings = np.asarray(embeddings)
  n = 2**_check_bits(owner, bits)
  if embeddings.ndim != 2 or embeddings.shape[0] < n:
    raise ValueError(
        f"{owner}: argument 'embeddings' must be a 2-D array with at least "
        f"2**bits={n} rows, got shape {embeddings.shape}.")
  quantizer = get_quantizer(quantizer)
  rng = check_random_state(random_state)
  km1 = KMeans(n_clusters=n, n_init=10, random_state=rng).fit(embeddings)
  tier1 = km1.predict(embeddings)

  index_table = np.zeros(embeddings.shape, dtype=np.uint8)
  cluster_index_table = np.zeros(embeddings.shape[0], dtype=np.uint8)
  codebook_table = np.zeros((n, n))
  quantized_embeddings = embeddings.copy()
  block_sizes = [0] * n
  for label in range(n):
    rows = np.flatnonzero(tier1 == label)
    block_sizes[label] = len(rows)
    if not len(rows):
      continue
    block = embeddings[rows]
    km2 = _fit_codebook(block.ravel(), min(n, block.size), quantizer, rng)
    centers = km2.cluster_centers_.ravel()
    # A block with fewer than n values repeats its largest center.
    codebook_table[label, :] = np.pad(centers, (0, n - len(centers)),
                                      mode="edge")
    cluster_index_table[rows] = label
    indexes = _assign(km2, block)
    index_table[rows, :] = indexes
    quantized_embeddings[rows, :] = _decode(km2, indexes)
  _LOGGER.info("block_sizes: %s", block_sizes)
  return (index_table, cluster_index_table, codebook_table,
          quantized_embeddings)


# --------------------------------------------------------------------------
# Activations.
# --------------------------------------------------------------------------
def _layer_quantizer(layer):
  """The quantizer of an activation layer (``quantizer`` or ``activation``)."""
  quantizer = getattr(layer, "quantizer", None)
  if quantizer is None:
    quantizer = getattr(layer, "activation", None)
  return quantizer


def _check_activation_indexes(owner, model, activation_indexes):
  """Sorted indexes into ``model.layers`` of layers with ``range()``."""
  layers = model.layers
  first = 1 if isinstance(layers[0], keras.layers.InputLayer) else 0
  allowed = f"a non-empty list of layer indexes in [{first}, {len(layers) - 2}]"
  indexes = list(activation_indexes or [])
  if not indexes:
    V.fail(owner, "activation_indexes", allowed, activation_indexes)
  checked = sorted(V.check_int(owner, "activation_indexes", i, first,
                               len(layers) - 2) for i in indexes)
  if len(set(checked)) != len(checked):
    V.fail(owner, "activation_indexes", allowed + " without repeats",
           activation_indexes)
  for i in checked:
    try:
      _layer_quantizer(layers[i]).range()
    except (AttributeError, ValueError) as e:
      raise ValueError(
          f"{owner}: argument 'activation_indexes': layer {i} "
          f"({layers[i].name!r}) needs a quantizer with range(), e.g. "
          f"QActivation('quantized_relu(4)') ({e}).") from None
  return first, checked


def _split_model(model, first, indexes, compile_config):
  """Sub-models that end at each index and at the last layer.

  The layers ``model.layers[first:]`` are applied in order (a sequential
  model), each sub-model starting from a new ``Input``; the layers (and
  their weights) are shared with ``model``.
  """
  if len(model.inputs) != 1:
    raise ValueError("activation_compression: argument 'model' must have one "
                     f"input, got {len(model.inputs)}.")
  inp = model.inputs[0]
  x = x_in = keras.Input(shape=tuple(inp.shape[1:]), dtype=inp.dtype)
  models = []
  last = len(model.layers) - 1
  for i in range(first, last + 1):
    x = model.layers[i](x)
    if i in indexes or i == last:
      sub = keras.Model(x_in, x)
      sub.compile(**compile_config)
      models.append(sub)
      x = x_in = keras.Input(shape=tuple(x.shape[1:]), dtype=x.dtype)
  return models


def _sample_rows(x, sample_size, rng):
  """A random ``sample_size`` fraction of the samples (rows) of ``x``."""
  if sample_size >= 1.0:
    return x
  count = max(1, int(sample_size * len(x)))
  return x[rng.choice(len(x), size=count, replace=False)]


def activation_compression(model, compile_config, activation_indexes, bits,
                           X_train, y_train, X_test, y_test, sample_size=1.0,
                           random_state=None):
  """Codebooks for the activations of a sequential model.

  The model is split after each layer in ``activation_indexes`` (indexes
  into ``model.layers``; each such layer needs a quantizer with
  ``range()``, e.g. a ``QActivation``). For each split point a KMeans
  codebook of ``2**bits`` values is fitted on the layer's outputs for
  ``X_train`` (a ``sample_size`` fraction of the samples), its centers
  passed through the layer's quantizer and sorted. Then ``X_test`` is run
  through the sub-models with every split activation replaced by its nearest
  codebook value, and the last sub-model is evaluated on ``y_test``.

  Args:
    model: a Keras model whose layers form a chain.
    compile_config: keyword arguments for ``compile`` of each sub-model.
    activation_indexes: the layer indexes to compress.
    bits: 1..8.
    X_train, y_train: data for fitting the codebooks (y_train is unused).
    X_test, y_test: data for the evaluation.
    sample_size: in (0, 1].
    random_state: None (NumPy's global generator), an int or a RandomState.

  Returns:
    ``(cb_tables, models, km_models)``: one ``create_in_out_table`` pair and
    one fitted KMeans per index (in layer order), and the sub-models.
  """
  owner = "activation_compression"
  n = 2**_check_bits(owner, bits)
  V.check_number(owner, "sample_size", sample_size, 0.0, 1.0, lo_open=True)
  first, indexes = _check_activation_indexes(owner, model, activation_indexes)
  rng = check_random_state(random_state)
  models = _split_model(model, first, indexes, compile_config)

  cb_tables, km_models = [], []
  x = X_train
  for sub in models[:-1]:
    x = sub.predict(x, verbose=0)
    quantizer = _layer_quantizer(sub.layers[-1])
    km = _fit_codebook(_sample_rows(x, sample_size, rng).ravel(), n,
                       quantizer, rng)
    cb_tables.append(create_in_out_table(km, quantizer))
    km_models.append(km)

  x = X_test
  for sub, km in zip(models[:-1], km_models):
    x = _decode(km, _assign(km, sub.predict(x, verbose=0)))
    print(f"Number of unique activations: {np.unique(x).size}")
  models[-1].evaluate(x, y_test, verbose=2)
  return cb_tables, models, km_models


__all__ = ["activation_compression", "create_in_out_table",
           "two_tier_embedding_compression", "weight_compression"]
