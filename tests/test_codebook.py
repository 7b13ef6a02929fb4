"""qkeras.codebook: KMeans codebooks for weights, embeddings, activations."""

import os

import keras
import numpy as np
import pytest

from qkeras import QActivation
from qkeras import QDense
from qkeras.codebook import activation_compression
from qkeras.codebook import create_in_out_table
from qkeras.codebook import two_tier_embedding_compression
from qkeras.codebook import weight_compression
from qkeras.quantizers import quantized_bits
from qkeras.quantizers import quantized_relu

DATA = os.path.join(os.path.dirname(__file__), "data",
                    "qkeras09_codebook.npz")


@pytest.fixture(scope="module")
def recorded():
  return np.load(DATA)


@pytest.fixture
def global_seed():
  """Seeds NumPy's global generator (as upstream's test) and restores it."""
  state = np.random.get_state()
  yield np.random.seed
  np.random.set_state(state)


def _auto_po2():
  return quantized_bits(4, 0, 1, alpha="auto_po2")


# --------------------------------------------------------------------------
# weight_compression
# --------------------------------------------------------------------------
def test_weight_compression_matches_qkeras09(recorded, global_seed):
  """Upstream's test setup: global seed 22, 3 bits, axis 3, auto_po2."""
  global_seed(22)
  index, table = weight_compression(recorded["w1"], 3, 3, _auto_po2())
  np.testing.assert_array_equal(index, recorded["w1_index"])
  np.testing.assert_array_equal(table, recorded["w1_codebook"])
  rebuilt = np.zeros(recorded["w1"].shape)
  for i in range(rebuilt.shape[3]):
    rebuilt[..., i] = table[i][index[..., i]]
  # 4-bit auto_po2 codebook values: multiples of 1/8 here; close to w.
  np.testing.assert_array_equal(rebuilt * 8, np.round(rebuilt * 8))
  assert np.abs(rebuilt - recorded["w1"]).max() < 0.2
  assert len(np.unique(rebuilt)) <= 8


def test_weight_compression_random_state_and_float64(recorded):
  """A RandomState replaces global seeding; float64 weights work too."""
  w64 = recorded["w1"].astype(np.float64)
  index, table = weight_compression(w64, 3, 3, _auto_po2(),
                                    random_state=np.random.RandomState(22))
  np.testing.assert_array_equal(index, recorded["w1_index"])
  np.testing.assert_array_equal(table, recorded["w1_codebook"])
  index, table = weight_compression(recorded["w2"], 2, 0, random_state=3)
  np.testing.assert_array_equal(index, recorded["w2_index"])
  np.testing.assert_array_equal(table, recorded["w2_codebook"])


def test_weight_compression_per_slice_codebooks():
  w = np.random.RandomState(4).normal(size=(3, 3, 2, 4)).astype(np.float32)
  index, table = weight_compression(w, 2, axis=-1,
                                    quantizer="quantized_bits(6,2,1)",
                                    random_state=0)
  assert index.shape == w.shape and table.shape == (4, 4)
  assert index.min() >= 0 and index.max() <= 3
  for i in range(4):
    assert np.all(np.diff(table[i]) >= 0)  # sorted
    rebuilt = table[i][index[..., i]]
    # Each weight maps to its nearest codebook value.
    nearest = table[i][np.abs(w[..., i, None] - table[i]).argmin(-1)]
    np.testing.assert_array_equal(rebuilt, nearest)
  np.testing.assert_array_equal(table * 8, np.round(table * 8))


# --------------------------------------------------------------------------
# two_tier_embedding_compression
# --------------------------------------------------------------------------
def test_two_tier_matches_qkeras09_and_fixes_the_index_table(recorded):
  index, clusters, table, quantized = two_tier_embedding_compression(
      recorded["e"], 2, quantized_bits(5, 0, 1),
      random_state=np.random.RandomState(5))
  np.testing.assert_array_equal(clusters, recorded["e_clusters"])
  np.testing.assert_array_equal(table, recorded["e_codebook"])
  np.testing.assert_array_equal(quantized, recorded["e_quantized"])
  assert index.dtype == clusters.dtype == np.uint8
  assert quantized.dtype == recorded["e"].dtype
  # The tables decode to the quantized embeddings (upstream's index table,
  # which gave every row the indexes of its block's last row, does not).
  np.testing.assert_array_equal(table[clusters[:, None], index], quantized)
  assert not np.array_equal(
      table[clusters[:, None], recorded["e_index"]], quantized)


def test_two_tier_small_blocks():
  """Blocks with fewer than 2**bits values repeat their largest center."""
  e = np.random.RandomState(0).normal(size=(8, 1))
  index, clusters, table, quantized = two_tier_embedding_compression(
      e, 2, random_state=0)
  assert np.bincount(clusters).min() < 4  # upstream's KMeans failed here
  np.testing.assert_array_equal(quantized, e)  # as many centers as values
  # float64 data with a quantizer (the 0.9.0 wheel failed on scikit-learn 1.9).
  index, clusters, table, quantized = two_tier_embedding_compression(
      e, 2, "quantized_bits(6,2,1)", random_state=0)
  assert quantized.dtype == np.float64
  np.testing.assert_array_equal(table[clusters[:, None], index], quantized)
  np.testing.assert_array_equal(quantized * 8, np.round(quantized * 8))
  np.testing.assert_array_equal(table[clusters[:, None], index], quantized)
  assert np.all(np.diff(table, axis=1) >= 0)


# --------------------------------------------------------------------------
# create_in_out_table / activation_compression
# --------------------------------------------------------------------------
def test_create_in_out_table():
  from sklearn.cluster import KMeans  # pylint: disable=g-import-not-at-top
  values = np.random.RandomState(1).uniform(0, 1, (200, 1)).astype("float32")
  km = KMeans(4, n_init=10, random_state=0).fit(values)
  km.cluster_centers_ = np.sort(km.cluster_centers_, axis=0)
  q = quantized_relu(3, 0)
  in_table, out_table = create_in_out_table(km, q)
  np.testing.assert_array_equal(in_table, km.cluster_centers_.ravel())
  levels = q.range()
  assert out_table.shape == levels.shape
  np.testing.assert_array_equal(
      out_table, np.abs(levels[:, None] - in_table).argmin(-1))


def _sequential():
  keras.utils.set_random_seed(3)
  return keras.Sequential([
      keras.Input((6,)),
      QDense(12, kernel_quantizer=quantized_bits(4, 0, 1),
             bias_quantizer=quantized_bits(4, 0, 1)),
      QActivation("quantized_relu(4,1)"),
      QDense(8, kernel_quantizer=quantized_bits(4, 0, 1)),
      QActivation(quantized_bits(4, 1)),
      QDense(3),
      keras.layers.Activation("softmax"),
  ])


@pytest.fixture(scope="module")
def data():
  rng = np.random.RandomState(0)
  x = rng.normal(size=(96, 6)).astype("float32")
  y = keras.utils.to_categorical(rng.randint(0, 3, 96), 3)
  return x[:64], y[:64], x[64:], y[64:]


def test_activation_compression_sequential(data, capsys):
  model = _sequential()
  x_train, y_train, x_test, y_test = data
  cb_tables, models, km_models = activation_compression(
      model, {"loss": "categorical_crossentropy", "metrics": ["acc"]},
      [3, 1], 2, x_train, y_train, x_test, y_test, random_state=0)
  assert len(models) == 3 and len(cb_tables) == len(km_models) == 2
  assert km_models[0] is not km_models[1]  # upstream shared one KMeans
  # The sub-models chained reproduce the model (layer 0 included).
  chained = x_test
  for sub in models:
    chained = sub(chained)
  np.testing.assert_allclose(keras.ops.convert_to_numpy(chained),
                             keras.ops.convert_to_numpy(model(x_test)),
                             rtol=1e-6, atol=1e-7)
  for (in_table, out_table), km, index in zip(cb_tables, km_models, [1, 3]):
    levels = model.layers[index].quantizer.range()
    assert len(in_table) == 4 and np.all(np.diff(in_table) >= 0)
    assert np.all(np.isin(in_table, levels))  # centers are quantized
    np.testing.assert_array_equal(in_table, km.cluster_centers_.ravel())
    np.testing.assert_array_equal(
        out_table, np.abs(levels[:, None] - in_table).argmin(-1))
  out = capsys.readouterr().out
  assert out.count("Number of unique activations") == 2


def test_activation_compression_functional_and_sampling(data):
  """Functional models index model.layers with the InputLayer at 0."""
  seq = _sequential()
  inp = keras.Input((6,))
  x = inp
  for layer in seq.layers:
    x = layer(x)
  model = keras.Model(inp, x)
  x_train, y_train, x_test, y_test = data
  cb_tables, models, km_models = activation_compression(
      model, {"loss": "categorical_crossentropy"}, [2], 3, x_train, y_train,
      x_test, y_test, sample_size=0.25, random_state=1)
  assert len(models) == 2 and len(km_models) == 1
  assert isinstance(models[0].layers[-1], QActivation)
  assert np.all(np.isin(cb_tables[0][0], seq.layers[1].quantizer.range()))


# --------------------------------------------------------------------------
# Bad input.
# --------------------------------------------------------------------------
@pytest.mark.parametrize("call,name", [
    (lambda: weight_compression(np.zeros((300, 2)), 9), "bits"),
    (lambda: weight_compression(np.zeros((300, 2)), 0), "bits"),
    (lambda: weight_compression(np.zeros((4, 2)), 3, axis=1), "bits"),
    (lambda: weight_compression(np.zeros((30, 2)), 2, axis=2), "axis"),
    (lambda: two_tier_embedding_compression(np.zeros((30, 4)), 9), "bits"),
    (lambda: two_tier_embedding_compression(np.zeros((3, 4)), 2),
     "embeddings"),
    (lambda: two_tier_embedding_compression(np.zeros(30), 2), "embeddings"),
])
def test_bad_weight_arguments(call, name):
  with pytest.raises(ValueError, match=f"argument '{name}'"):
    call()


@pytest.mark.parametrize("kwargs,name", [
    ({"bits": 9}, "bits"),
    ({"sample_size": 0.0}, "sample_size"),
    ({"sample_size": 1.5}, "sample_size"),
    ({"activation_indexes": []}, "activation_indexes"),
    ({"activation_indexes": [5]}, "activation_indexes"),  # the last layer
    ({"activation_indexes": [1, 1]}, "activation_indexes"),
    ({"activation_indexes": [0]}, "activation_indexes"),  # a QDense
])
def test_bad_activation_arguments(data, kwargs, name):
  args = {"model": _sequential(), "compile_config": {"loss": "mse"},
          "activation_indexes": [1], "bits": 2}
  args.update(kwargs)
  with pytest.raises(ValueError, match=f"argument '{name}'"):
    activation_compression(**args, X_train=data[0], y_train=data[1],
                           X_test=data[2], y_test=data[3])


def test_activation_quantizer_without_range(data):
  model = keras.Sequential([keras.Input((6,)),
                            QActivation("quantized_bits(4,0,1)"),
                            keras.layers.Dense(2)])
  with pytest.raises(ValueError, match="argument 'activation_indexes'.*"
                     "symmetric=0"):
    activation_compression(model, {"loss": "mse"}, [0], 2, *data)
