# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""AutoQKeras: the search space, trial models, searches, scheduler, resume
repair and keras-tuner's distributed mode (kills at chosen points and
damaged files: test_autoqkeras_faults.py)."""

import glob
import json
import os
import socket
import subprocess
import sys
import time

import keras
import keras_tuner as kt
import numpy as np
import pytest

from qkeras import QActivation
from qkeras import QConv2D
from qkeras import QDense
from qkeras.autoqkeras import AutoQKeras
from qkeras.autoqkeras import AutoQKerasScheduler
from qkeras.autoqkeras import AutoQKHyperModel
from qkeras.autoqkeras import ForgivingFactorBits
from qkeras.autoqkeras import default_quantization_config
from qkeras.autoqkeras import plot_history
from qkeras.autoqkeras.autoqkeras_internal import _bits_text
from qkeras.autoqkeras.autoqkeras_internal import _pad_limit
from qkeras.autoqkeras.autoqkeras_internal import _write_json_atomically
from qkeras.autoqkeras.autoqkeras_internal import make_target
from qkeras.qrecurrent import QBidirectional
from qkeras.qrecurrent import QLSTM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from autoqkeras_job import LIMIT  # noqa: E402
from autoqkeras_job import digits  # noqa: E402
from autoqkeras_job import float_cnn  # noqa: E402

JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "autoqkeras_job.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BITS = {"type": "bits", "params": {"delta_p": 8.0, "delta_n": 8.0,
                                   "rate": 2.0}}
ENERGY = {"type": "energy", "params": {
    "delta_p": 8.0, "delta_n": 8.0, "rate": 2.0, "stress": 1.0,
    "process": "horowitz", "parameters_on_memory": ["sram", "sram"],
    "activations_on_memory": ["sram", "sram"], "rd_wr_on_io": [False, False],
    "min_sram_size": [0, 0], "source_quantizers": ["int8"],
    "reference_internal": "int8", "reference_accumulator": "int32"}}


def two_conv_model():
  """c1 Conv2D(4) relu, c2 Conv2D(6) relu, Flatten, d Dense(10) softmax."""
  i = keras.Input((8, 8, 1))
  h = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(i)
  h = keras.layers.Conv2D(6, 3, activation="relu", name="c2")(h)
  h = keras.layers.Flatten(name="f")(h)
  h = keras.layers.Dense(10, activation="softmax", name="d")(h)
  model = keras.Model(i, h)
  model.compile(optimizer=keras.optimizers.Adam(1e-2),
                loss="categorical_crossentropy", metrics=["acc"])
  return model


def hypermodel(model, **kwargs):
  kwargs.setdefault("target", make_target(BITS))
  return AutoQKHyperModel(model, ["acc"], **kwargs)


def build(hm, values=None):
  """Builds once to register the space, then with ``values`` set."""
  hp = kt.HyperParameters()
  hm.build(hp)
  hp.values.update(values or {})
  return hm.build(hp), hp


# -- bad input -----------------------------------------------------------------


@pytest.mark.parametrize("goal, message", [
    ({"type": "area", "params": {}}, "goal type 'area' is unknown; allowed: "
                                     "bits, energy"),
    ({"type": "bits"}, "goal 'bits' needs a 'params' dict"),
    ({"type": "energy", "params": {"delta_p": 8.0}},
     "goal 'energy' params miss delta_n, rate"),
    ({"type": "bits", "params": {"delta_p": 8, "delta_n": 8, "rate": 2,
                                 "bogus": 1}}, "are not accepted"),
    ("bits", "argument 'goal' must be a ForgivingFactor or a dict"),
])
def test_goal_errors(goal, message):
  with pytest.raises(ValueError, match=message):
    AutoQKeras(float_cnn(), goal=goal)


def test_bad_arguments(tmp_path):
  model = float_cnn()
  with pytest.raises(ValueError, match="argument 'mode' must be one of "
                     "'random', 'bayesian', 'hyperband', got 'grid'"):
    AutoQKeras(model, mode="grid", directory=str(tmp_path))
  uncompiled = keras.Model(model.inputs, model.outputs)
  with pytest.raises(ValueError, match="is not compiled"):
    AutoQKeras(uncompiled, directory=str(tmp_path))
  with pytest.raises(ValueError, match="limit key 'LSTM' names nothing"):
    AutoQKeras(model, limit={"LSTM": [4, 4, 4, 4]}, directory=str(tmp_path))
  with pytest.raises(ValueError, match="limit key '\\^conv' names nothing"):
    AutoQKeras(model, limit={"^conv": [4]}, directory=str(tmp_path))
  with pytest.raises(ValueError, match="argument 'tune_filters' must be one"):
    AutoQKeras(model, tune_filters="all", directory=str(tmp_path))
  with pytest.raises(ValueError, match="head_name 'out' is not a key"):
    AutoQKeras(model, metrics={"d": ["acc"]}, head_name="out",
               directory=str(tmp_path))
  with pytest.raises(ValueError, match="mode='hyperband' takes 'max_epochs'"):
    AutoQKeras(model, mode="hyperband", max_trials=3, directory=str(tmp_path))
  with pytest.raises(ValueError, match="'schedule_block' must be one of"):
    AutoQKerasScheduler(model, schedule_block="random")
  with pytest.raises(ValueError, match="limit\\['Dense'\\] allows "
                     "\\['quantized_bits\\(3\\)'\\]"):
    AutoQKeras(model, limit={"Dense": [["quantized_bits(3)"], 8, 8]},
               directory=str(tmp_path))
  with pytest.raises(ValueError, match="no kernel quantizer of at most 0 "
                     "bits for layer 'd'"):
    AutoQKeras(model, limit={"Dense": [0, 8, 8]}, directory=str(tmp_path))
  assert not os.listdir(tmp_path)  # nothing was created


# Every name ``autoqkeras_internal`` had before it was split into
# ``_search_space``, ``_tuner_state`` and ``_common`` (``dir()`` then, dunder
# names left out): user code, notebooks and pickles name them through it.
INTERNAL_NAMES = """
    AutoQKHyperModel AutoQKeras AutoQKerasScheduler BayesianOptimization
    DEFAULT_GOAL FILTER_FACTORS ForgivingFactor HyperModel Hyperband MODES
    Q_LAYERS REGISTERED_LAYERS RandomSearch SEQUENCE_LAYERS TUNE_FILTERS
    _ACTIVATION _BIAS _DEPTHWISE_KERNEL _EXTRA_BITS _GOAL_PARAMS _KERNEL
    _ProgressMixin _RECURRENT _SEPARABLE _TUNERS _accuracy_function
    _atomic_oracle_saves _best _bits_text _check_choice _check_compiled
    _check_limit _clone_optimizer _compile_arguments _copy_metrics
    _extend_metrics _fresh_dir _fresh_metric _hp_key _is_class_key
    _iter_layer_configs _last _layer_classes _learning_rate _output_layers
    _pad_limit _requeue_interrupted_trials _scale_width _score_metric
    _transfer_weights _with_progress _write_json_atomically activation_name
    adjusted_score copy default_quantization_config forgiving_factor json
    keras kt make_target model_quantize np ops os print_qmodel_summary
    quantized_model_from_json re trial_size_metric warnings""".split()


def test_internal_module_keeps_every_name():
  import pickle  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras import autoqkeras_internal  # pylint: disable=g-import-not-at-top
  missing = [n for n in INTERNAL_NAMES if not hasattr(autoqkeras_internal, n)]
  assert not missing
  assert autoqkeras_internal.AutoQKeras is AutoQKeras
  # A class pickled by reference before the split still loads.
  for name in ("AutoQKeras", "AutoQKerasScheduler", "AutoQKHyperModel"):
    old = f"cqkeras.autoqkeras.autoqkeras_internal\n{name}\n.".encode()
    assert pickle.loads(old) is getattr(autoqkeras_internal, name)


# -- the search space ----------------------------------------------------------


def test_pad_limit():
  assert _pad_limit([4], [8, 8, 8], False) == [4, 8, 8]
  assert _pad_limit([4, 2], [8, 7, 6], False) == [4, 2, 6]
  assert _pad_limit([], [8, 7, 6], False) == [8, 7, 6]
  assert _pad_limit([4], [8, 7, 5, 6], True) == [4, 7, 5, 6]
  assert _pad_limit([4], [8, 7, 6], True) == [4, 7, 8, 6]
  assert _pad_limit(3, [8, 7, 6], False) == [3, 7, 6]


def test_space_follows_limit_bits_and_lists():
  hm = hypermodel(two_conv_model(), limit={
      "Conv2D": [2, ["quantized_bits(8,3,1)"], 3],
      "Dense": [["ternary", "quantized_po2(4,1)"]]})
  q_model, hp = build(hm, {"c2_kernel_quantizer": "ternary",
                           "d_kernel_quantizer": "quantized_po2(4,1)"})
  kernel = default_quantization_config["kernel"]
  space = {p.name: p for p in hp.space}
  assert space["c1_kernel_quantizer"].values == [
      q for q, b in kernel.items() if b <= 2]
  assert hp.values["c1_bias_quantizer"] == "quantized_bits(8,3,1)"
  assert space["c1_activation_quantizer"].values == [
      "binary", "binary(alpha='auto_po2')", "ternary", "quantized_relu(3,1)"]
  assert space["d_kernel_quantizer"].values == ["ternary",
                                                "quantized_po2(4,1)"]
  assert "d_activation_quantizer" not in space  # softmax stays float
  layers = {layer.name: layer for layer in q_model.layers}
  assert isinstance(layers["c1"], QConv2D)
  assert str(layers["c2"].kernel_quantizer_internal).startswith("ternary")
  assert str(layers["c2"].activation) == "binary()"
  assert str(layers["d"].kernel_quantizer_internal) == "quantized_po2(4,1)"
  # Dense bias and activation limits come from the default (8 bits).
  assert hp.values["d_bias_quantizer"] == "quantized_bits(4,0,1)"


def test_regex_limit_shares_one_choice_per_group():
  hm = hypermodel(two_conv_model(),
                  limit={"^c": [4, 4, 4], "Dense": [4, 4, 4]})
  q_model, hp = build(hm, {"^c_kernel_quantizer": "quantized_bits(4,0,1)",
                           "^c_activation_quantizer": "quantized_relu(4,2)"})
  names = [p.name for p in hp.space]
  assert "^c_kernel_quantizer" in names and "c1_kernel_quantizer" not in names
  c1, c2 = q_model.get_layer("c1"), q_model.get_layer("c2")
  assert (str(c1.kernel_quantizer_internal) ==
          str(c2.kernel_quantizer_internal) ==
          "quantized_bits(4,0,1,alpha='auto_po2')")
  assert str(c1.activation) == str(c2.activation) == "quantized_relu(4,2)"


def test_class_keys_are_not_regexes_and_other_keys_are():
  i = keras.Input((4,))
  h = keras.layers.Dense(3, activation="relu", name="Dense_in")(i)
  h = keras.layers.Dense(2, name="Conv_out")(h)
  model = keras.Model(i, h)
  model.compile(optimizer="adam", loss="mse", metrics=["mae"])
  hm = AutoQKHyperModel(model, ["mae"], target=make_target(BITS),
                        limit={"Dense": [4, 4, 4], "Conv": [2, 4, 4]})
  _, hp = build(hm)
  names = {p.name for p in hp.space}
  # "Dense" is the class (each layer its own choice), "Conv" a regex group.
  assert "Dense_in_kernel_quantizer" in names
  assert "Conv_kernel_quantizer" in names
  assert "Conv_out_kernel_quantizer" not in names


def test_no_limit_quantizes_every_known_layer_and_activation():
  q_model, hp = build(hypermodel(float_cnn()))
  assert isinstance(q_model.get_layer("c1"), QConv2D)
  assert isinstance(q_model.get_layer("a1"), QActivation)
  assert isinstance(q_model.get_layer("d"), QDense)
  assert set(hp.values) == {"c1_kernel_quantizer", "c1_bias_quantizer",
                            "a1_activation_quantizer", "d_kernel_quantizer",
                            "d_bias_quantizer"}


def test_layer_indexes_and_class_limits_select_layers():
  model = two_conv_model()
  q_model, hp = build(hypermodel(model, layer_indexes=[2]))
  assert [type(q_model.get_layer(n)).__name__ for n in ("c1", "c2", "d")] == [
      "Conv2D", "QConv2D", "Dense"]
  q_model, _ = build(hypermodel(model, limit={"Dense": [4, 4, 4]}))
  assert [type(q_model.get_layer(n)).__name__ for n in ("c1", "c2", "d")] == [
      "Conv2D", "Conv2D", "QDense"]


def test_sequence_and_separable_layers():
  i = keras.Input((6, 4))
  h = keras.layers.SeparableConv1D(4, 3, activation="relu", name="s")(i)
  h = keras.layers.LSTM(3, return_sequences=True, name="l")(h)
  h = keras.layers.Bidirectional(keras.layers.GRU(2), name="b")(h)
  h = keras.layers.Dense(2, activation="softmax", name="d")(h)
  model = keras.Model(i, h)
  model.compile(optimizer="adam", loss="categorical_crossentropy",
                metrics=["acc"])
  hm = hypermodel(model, limit={
      "SeparableConv1D": [4, 4, 4], "LSTM": [4, 4, 2, 4],
      "Bidirectional": [4, 4, 4, 4], "Dense": [4, 4, 4]})
  q_model, hp = build(hm)
  space = {p.name: p for p in hp.space}
  for name in ("s_pointwise_kernel_quantizer", "l_recurrent_kernel_quantizer",
               "l_recurrent_activation_quantizer", "b_kernel_quantizer",
               "b_recurrent_kernel_quantizer"):
    assert name in space, name
  # The recurrent limit (index 2) applies to the recurrent kernel.
  assert all(default_quantization_config["kernel"][q] <= 2
             for q in space["l_recurrent_kernel_quantizer"].values)
  assert type(q_model.get_layer("s")).__name__ == "QSeparableConv1D"
  text = _bits_text(hm.trial_summaries[list(hm.trial_summaries)[-1]]["bits"])
  assert "s " in text and " pw=" in text and " rec=" in text
  assert " rec_act=" in text
  assert isinstance(q_model.get_layer("l"), QLSTM)
  assert isinstance(q_model.get_layer("b"), QBidirectional)
  x = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")
  assert q_model.predict(x, verbose=0).shape == (3, 2)


@pytest.mark.parametrize("mode", ["block", "layer"])
def test_tune_filters(mode):
  model = two_conv_model()
  name = "network_filters" if mode == "block" else "network_filters_c1"
  hm = hypermodel(model, tune_filters=mode, tune_filters_exceptions="^c2",
                  transfer_weights=True)
  q_model, hp = build(hm, {name: 0.5})
  assert q_model.get_layer("c1").filters == 2
  assert q_model.get_layer("c2").filters == 6       # the exception
  assert q_model.get_layer("d").units == 10         # the output keeps width
  assert "network_filters_d" not in hp.values
  # c2's kernel changed shape (fewer inputs): no transfer; d's did not.
  np.testing.assert_array_equal(q_model.get_layer("d").get_weights()[1],
                                model.get_layer("d").get_weights()[1])
  x = np.zeros((2, 8, 8, 1), "float32")
  assert q_model.predict(x, verbose=0).shape == (2, 10)


def test_transfer_weights_copies_float_weights():
  model = two_conv_model()
  q_model, _ = build(hypermodel(model, transfer_weights=True))
  for name in ("c1", "c2", "d"):
    for a, b in zip(model.get_layer(name).get_weights(),
                    q_model.get_layer(name).get_weights()):
      np.testing.assert_array_equal(a, b)


def test_learning_rate_optimizer_choices():
  model = two_conv_model()
  hm = hypermodel(model, learning_rate_optimizer=True)
  q_model, hp = build(hm, {})
  factor = hm.target.get_total_factor()
  space = {p.name: p for p in hp.space}
  expected = 1e-2 * np.linspace(1 + min(factor, 0.0), 1.1, 5)
  np.testing.assert_allclose(space["learning_rate"].values, expected,
                             rtol=1e-6)
  assert q_model.optimizer is not model.optimizer
  assert float(q_model.optimizer.learning_rate) == pytest.approx(
      hp.values["learning_rate"])


def test_score_and_trial_metrics():
  x, y = digits(200)
  model = float_cnn()
  hm = hypermodel(model, transfer_weights=True)
  q_model, _ = build(hm)
  result = q_model.evaluate(x, y, verbose=0, return_dict=True)
  assert result["trial"] == pytest.approx(hm.target.trial_size)
  delta = float(hm.target.delta())
  assert delta > 0  # the quantized model is smaller than the float one
  assert result["score"] == pytest.approx(result["acc"] * (1 + delta),
                                          rel=1e-6)


def test_dict_metrics_head_name_and_jit_compile():
  i = keras.Input((4,))
  h = keras.layers.Dense(5, activation="relu", name="h")(i)
  out = keras.layers.Dense(3, activation="softmax", name="out")(h)
  aux = keras.layers.Dense(1, name="aux")(h)
  model = keras.Model(i, {"out": out, "aux": aux})
  model.compile(optimizer=keras.optimizers.SGD(0.1),
                loss={"out": "sparse_categorical_crossentropy", "aux": "mse"},
                metrics={"out": ["acc"], "aux": ["mae"]}, jit_compile=True)
  hm = AutoQKHyperModel(model, {"out": ["acc"]}, target=make_target(BITS),
                        head_name="out")
  q_model, _ = build(hm)
  assert q_model.jit_compile is True
  rng = np.random.default_rng(0)
  x = rng.normal(size=(32, 4)).astype("float32")
  y = {"out": rng.integers(0, 3, size=(32,)), "aux": rng.normal(size=(32, 1))}
  history = q_model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0)
  assert {"val_out_score", "val_out_trial", "val_out_acc",
          "val_aux_mae"} <= set(history.history)
  assert history.history["val_out_score"][0] == pytest.approx(
      history.history["val_out_acc"][0] * (1 + float(hm.target.delta())),
      rel=1e-5)


# -- searches ------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
  x, y = digits()
  return x[:400], y[:400], x[400:], y[400:]


def float_reference(data):
  """The float CNN trained like a trial; its score is its accuracy
  (delta = 0)."""
  xt, yt, xv, yv = data
  model = float_cnn()
  model.fit(xt, yt, epochs=3, batch_size=50, verbose=0)
  return model, model.evaluate(xv, yv, verbose=0, return_dict=True)["acc"]


@pytest.mark.slow
@pytest.mark.parametrize("goal, trials", [(BITS, 3), (ENERGY, 2)],
                         ids=["bits", "energy"])
def test_search_beats_float_reference_and_returns_trained_model(
    goal, trials, data, tmp_path, capsys):
  xt, yt, xv, yv = data
  model, float_score = float_reference(data)
  autoqk = AutoQKeras(model, metrics=["acc"], goal=goal, mode="random",
                      directory=str(tmp_path), output_dir="search",
                      max_trials=trials, seed=7, limit=LIMIT,
                      transfer_weights=True)
  autoqk.fit(xt, yt, validation_data=(xv, yv), epochs=2, batch_size=50,
             verbose=0)
  out = capsys.readouterr().out
  lines = [line for line in out.splitlines()
           if line.startswith("AutoQKeras trial")]
  assert len(lines) == trials
  # The cost is named by the goal (issue 21): bits or energy in pJ.
  label = {"bits": "size (bits)", "energy": "energy (pJ)"}[goal["type"]]
  assert all(f"| {label} " in line and "x reference" in line
             for line in lines)
  history = autoqk.history()
  assert len(history["score"]) == trials
  assert history["score"] == sorted(history["score"], reverse=True)
  assert max(history["score"]) > float_score
  reference = autoqk.target.reference_size
  assert all(size < reference for size in history["trial_size"])
  best = autoqk.get_best_model()
  result = best.evaluate(xv, yv, verbose=0, return_dict=True)
  # The best epoch's weights: its validation numbers come back exactly.
  assert result["acc"] == pytest.approx(history["val_acc"][0], abs=1e-6)
  assert result["score"] == pytest.approx(history["score"][0], abs=1e-6)
  assert result["trial"] == pytest.approx(history["trial_size"][0])
  assert autoqk.get_learning_rate() == pytest.approx(1e-2)
  fig = plot_history(autoqk, filename=str(tmp_path / "history.png"))
  assert len(fig.axes) == 3 and os.path.getsize(tmp_path / "history.png")
  assert fig.axes[2].get_ylabel() == label


@pytest.mark.parametrize("goal, label", [(BITS, "size (bits)"),
                                         (ENERGY, "energy (pJ)")],
                         ids=["bits", "energy"])
def test_plot_history_labels_the_cost_by_the_goal(goal, label):
  # Issue 21: an energy search is not labelled "size".
  target = make_target(goal)
  assert target.size_label == label

  class Search:  # what plot_history reads of an AutoQKeras
    def __init__(self):
      self.target = target

    def history(self):
      return {"trial_id": ["1", "0"], "score": [0.9, 0.8],
              "trial_size": [10.0, 20.0], "val_acc": [0.9, 0.8]}

  assert plot_history(Search()).axes[2].get_ylabel() == label
  assert plot_history(Search().history()).axes[2].get_ylabel() == (
      "trial size")
  assert plot_history(Search(), size_label="cost").axes[2].get_ylabel() == (
      "cost")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bayesian", "hyperband"])
def test_other_modes(mode, data, tmp_path):
  xt, yt, xv, yv = data
  kwargs = ({"max_trials": 2} if mode == "bayesian" else
            {"max_epochs": 2, "hyperband_iterations": 1})
  autoqk = AutoQKeras(float_cnn(), metrics=["acc"], goal=BITS, mode=mode,
                      directory=str(tmp_path), output_dir=mode, seed=1,
                      limit=LIMIT, **kwargs)
  autoqk.fit(xt, yt, validation_data=(xv, yv), epochs=1, batch_size=100,
             verbose=0)
  assert len(autoqk.history()["score"]) >= 2
  assert autoqk.get_best_model() is not None


def test_custom_tuner_gets_the_config(tmp_path):
  seen = {}

  class MyTuner(kt.RandomSearch):

    def __init__(self, hypermodel, autoqkeras_config, **kwargs):
      seen.update(autoqkeras_config)
      super().__init__(hypermodel, **kwargs)

  autoqk = AutoQKeras(float_cnn(), goal=BITS, custom_tuner=MyTuner,
                      directory=str(tmp_path), max_trials=1, limit=LIMIT)
  assert isinstance(autoqk.tuner, MyTuner)
  assert seen["limit"] == LIMIT and seen["mode"] == "random"
  assert autoqk.get_best_model() is None  # nothing searched yet


def test_overwrite_picks_a_fresh_project(tmp_path):
  first = AutoQKeras(float_cnn(), goal=BITS, directory=str(tmp_path),
                     output_dir="r", max_trials=1, limit=LIMIT)
  second = AutoQKeras(float_cnn(), goal=BITS, directory=str(tmp_path),
                      output_dir="r", max_trials=1, limit=LIMIT)
  assert (first.output_dir, second.output_dir) == ("r", "r_1")
  absolute = AutoQKeras(float_cnn(), goal=BITS, max_trials=1, limit=LIMIT,
                        output_dir=str(tmp_path / "r"))
  assert absolute.output_dir == str(tmp_path / "r_2")
  third = AutoQKeras(float_cnn(), goal=BITS, directory=str(tmp_path),
                     output_dir="r", max_trials=1, limit=LIMIT,
                     overwrite=False)
  assert third.output_dir == "r"


def test_search_state_is_written_atomically(tmp_path):
  path = str(tmp_path / "state.json")
  _write_json_atomically(path, {"a": 1})
  with pytest.raises(TypeError):
    _write_json_atomically(path, {"a": object()})  # fails before writing
  assert json.load(open(path)) == {"a": 1}
  autoqk = AutoQKeras(float_cnn(), goal=BITS, directory=str(tmp_path),
                      output_dir="p", max_trials=1, limit=LIMIT)
  autoqk.tuner.save()
  project = tmp_path / "p"
  assert json.load(open(project / "oracle.json"))["ongoing_trials"] == {}
  assert json.load(open(project / "tuner0.json")) == {}
  assert not list(project.glob("*.tmp"))


# -- scheduler -----------------------------------------------------------------


def test_scheduler_blocks_costs_and_limits():
  model = two_conv_model()
  scheduler = AutoQKerasScheduler(
      model, goal=BITS, blocks=["^c1$", "^c2$", "^d$"],
      schedule_block="cost", limit={"^c": [4, 4, 4], "Dense": [8, 8, 8]},
      output_dir="unused", debug=True)
  costs = scheduler.compute_block_costs(scheduler.blocks, model)
  stats = scheduler.target.get_reference_stats()
  assert costs["^c2$"] == stats["c2"]["total"]
  order = [p for p, _ in scheduler.retrieve_max_block()]
  assert order == sorted(costs, key=costs.get, reverse=True)
  assert scheduler.get_limit(model, "^c2$") == {"^(c2)$": [4, 4, 4]}
  assert scheduler.get_limit(model, "^d$") == {"Dense": [8, 8, 8]}
  assert scheduler._block_trials(20, 10.0, 100.0) == 10
  assert scheduler._block_trials(20, 80.0, 100.0) == 16
  assert scheduler._block_trials(4, 10.0, 100.0) == 4


@pytest.mark.slow
def test_scheduler_runs_blocks_and_resumes(data, tmp_path):
  xt, yt, xv, yv = data
  out = str(tmp_path / "sched")

  def scheduler(overwrite):
    return AutoQKerasScheduler(
        float_cnn(), metrics=["acc"], goal=BITS, output_dir=out,
        blocks=["^c1$|^a1$", "^d$"], limit=LIMIT, max_trials=1, seed=2,
        transfer_weights=True, overwrite=overwrite)

  first = scheduler(True)
  first.fit(xt, yt, validation_data=(xv, yv), epochs=1, batch_size=100,
            verbose=0)
  best = first.get_best_model()
  assert [type(best.get_layer(n)).__name__ for n in ("c1", "a1", "d")] == [
      "QConv2D", "QActivation", "QDense"]
  assert len(first.get_history()) == 2
  assert json.load(open(os.path.join(out, "scheduler.json"))) == {
      "next_block": 2}
  assert os.path.exists(os.path.join(out, "model_block_1.keras"))
  # Restarted with overwrite=False: nothing left to search, same model.
  second = scheduler(False)
  assert second.next_block == 2
  second.fit(xt, yt, validation_data=(xv, yv), epochs=1, verbose=0)
  np.testing.assert_array_equal(second.get_best_model().predict(xv, verbose=0),
                                best.predict(xv, verbose=0))
  assert second.get_history() == json.loads(json.dumps(
      first.get_history(), default=float))


# -- resume repair, distributed search ----------------------------------------


def _job(args, env=None):
  return subprocess.Popen(
      [sys.executable, "-u", JOB] + [str(a) for a in args],
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
      env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3",
               **(env or {})))


def _trials(project):
  result = {}
  for path in glob.glob(os.path.join(project, "trial_*", "trial.json")):
    with open(path) as f:
      state = json.load(f)
    result[state["trial_id"]] = (state["status"], state["score"])
  return result


def test_trial_started_but_not_in_the_oracle_file_is_retried(tmp_path):
  """A kill between keras-tuner's writes of a new trial's file and of the
  oracle file must neither rerun the finished trial nor leave the new one
  unfinished on resume (kill point 7 of
  test_autoqkeras_faults.py, here without a subprocess)."""
  import keras_tuner as kt  # pylint: disable=g-import-not-at-top
  from qkeras.autoqkeras import autoqkeras_internal  # pylint: disable=g-import-not-at-top

  def oracle():
    o = kt.oracles.RandomSearchOracle(objective=kt.Objective("s", "max"),
                                      max_trials=3, seed=1)
    o.hyperparameters.Choice("bits", [2, 4, 8, 16])
    o._set_project_dir(str(tmp_path), "search")  # pylint: disable=protected-access
    return o

  first = oracle()
  trial0 = first.create_trial("tuner0")
  first.update_trial(trial0.trial_id, {"s": 1.0})
  trial0.status = kt.engine.trial.TrialStatus.COMPLETED
  first.end_trial(trial0)
  first.save = lambda: None  # killed after the trial file, before this
  trial1 = first.create_trial("tuner0")
  resumed = oracle()
  resumed.reload()
  assert resumed.trials[trial1.trial_id].status == "RUNNING"
  # keras-tuner's own reload: the finished trial 0 (still "ongoing" in the
  # oracle file) would run again, trial 1 never.
  assert resumed._retry_queue == [trial0.trial_id]  # pylint: disable=protected-access
  autoqkeras_internal._requeue_interrupted_trials(resumed)  # pylint: disable=protected-access
  assert resumed._retry_queue == [trial1.trial_id]  # pylint: disable=protected-access
  again = resumed.create_trial("tuner0")
  assert again.trial_id == trial1.trial_id
  assert again.hyperparameters.values == trial1.hyperparameters.values
  autoqkeras_internal._requeue_interrupted_trials(resumed)  # pylint: disable=protected-access
  assert resumed._retry_queue == []  # an ongoing trial is not queued twice  # pylint: disable=protected-access


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.default_backend_only("keras-tuner's distributed mode")
@pytest.mark.slow
def test_chief_and_two_workers_split_the_trials(tmp_path):
  project = str(tmp_path / "dist")
  common = {"KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": str(_free_port())}
  chief = _job([project, 4], dict(common, KERASTUNER_TUNER_ID="chief"))
  time.sleep(1)
  workers = [_job([project, 4], dict(common, KERASTUNER_TUNER_ID=f"tuner{i}"))
             for i in range(2)]
  outputs = [w.communicate(timeout=300)[0] for w in workers]
  chief_out = chief.communicate(timeout=120)[0]
  assert chief.returncode == 0, chief_out
  ran = []
  for worker, out in zip(workers, outputs):
    assert worker.returncode == 0, out
    ran.append({line.split()[2] for line in out.splitlines()
                if line.startswith("AutoQKeras trial")})
  assert all(ran), ran                      # both workers ran trials
  assert not ran[0] & ran[1]                # no trial ran twice
  assert ran[0] | ran[1] == {"0", "1", "2", "3"}
  assert all(s == "COMPLETED" for s, _ in _trials(project).values())
