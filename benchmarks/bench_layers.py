# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Train-step time of quantized models relative to the same float models.

Models
------
``cnn`` (batch 64, input 32x32x3, 10 classes)::

  QConv2D(32, 3)             -> QActivation("quantized_relu(4)")
  QConv2D(64, 3, strides=2)  -> QActivation("quantized_relu(4)")
  QConv2D(64, 3, strides=2)  -> QActivation("quantized_relu(4)")
  Flatten -> QDense(10)

with ``bias_quantizer=quantized_bits(4,0,1)`` and a 4-bit kernel quantizer.

``mlp`` (the jet-tagging MLP, batch 1024)::

  16 -> QDense(64) -> QActivation("quantized_relu(6)") -> QDense(32) -> ...
     -> QDense(32) -> ... -> QDense(5)

with ``bias_quantizer=quantized_bits(6,0,1)`` and a 6-bit kernel quantizer.

``lstm`` (batch 256, 20 steps of 8 features, 5 classes)::

  QLSTM(32) -> QDense(5)

with 6-bit kernel, recurrent-kernel and bias quantizers, an 8-bit state
quantizer and QKeras's default activations (quantized_tanh, hard_sigmoid);
its float model is Keras's ``LSTM(32)`` (tanh, sigmoid) -> ``Dense(5)``.

Each is measured with two kernel quantizers (the ``weights`` column):

* ``auto_po2``: ``quantized_bits(b,0,1)``. Like QKeras, the Q-layers switch a
  kernel quantizer with ``alpha=None`` to ``alpha="auto_po2"``, i.e. a
  per-channel power-of-two scale refined by 5 least-squares iterations in
  every step (this is what a user who writes ``quantized_bits(4,0,1)`` gets);
* ``alpha=1``: ``quantized_bits(b,0,1,alpha=1)``, plain fixed point.

The float model is the same network with ``keras.layers.Conv2D`` /
``keras.layers.Dense`` and ``keras.layers.Activation("relu")``. All models
are compiled with ``Adam`` and ``CategoricalCrossentropy(from_logits=True)``
and no metrics. The quantized step thus includes everything QKeras adds to
training: the weight quantizers, the quantized activations and the automatic
``Clip`` constraints that the Q-layers put on their kernels and biases
(applied after each optimizer update).

Backends and compilation modes
------------------------------
``--backend tensorflow|jax|torch`` (default: ``$KERAS_BACKEND``, else
``tensorflow``) selects the Keras backend; the script sets
``KERAS_BACKEND`` before it imports Keras and imports TensorFlow only on the
TensorFlow backend. The ``jit`` column says how the models were compiled
(``*``: run by default, i.e. what Keras does on that backend; on TensorFlow,
where Keras's default on CPU is ``no``, both are run)::

  backend     jit       compile(...)        what runs
  tensorflow  no *      jit_compile=False   a tf.function graph
  tensorflow  xla *     jit_compile=True    that graph compiled by XLA
  jax         xla *     jit_compile=True    jax.jit, i.e. XLA
  jax         no        jit_compile=False   JAX op by op, eagerly (very slow)
  torch       no *      jit_compile=False   PyTorch eager
  torch       compile   jit_compile=True    torch.compile (Inductor, not XLA;
                                            compiling takes up to minutes)

``--jit`` selects modes from the backend's list.

With ``torch.compile``, Dynamo's caches are per Python function, so the
three models in one process share entries for Keras's ``Layer.forward`` and
the quantizer code, and shape changes between layers cause recompilations;
the script raises Dynamo's ``recompile_limit`` to 64 (default 8, past which
it falls back to eager). Once warm the steps are steady, but the float model
compiled next to the quantized ones can be several times slower than
compiled alone: check ``compile`` ratios with a single ``--weights`` value.

What is timed
-------------
One optimizer step (forward, loss, gradient, Adam update, weight
constraints, loss tracker) through Keras's own train function, i.e. what
``fit`` runs per batch, without ``fit``'s callbacks and data handling.
``x`` and ``y`` are backend tensors created once
(``keras.ops.convert_to_tensor``), so no host-to-tensor conversion is timed,
and every step waits for its result by fetching the scalar loss as a Python
number. Per backend:

* tensorflow: after ``model.make_train_function()``,
  ``model.train_function([(x, y)])``. With a Python iterable (not a
  ``tf.data`` iterator) that function runs exactly one call of the
  ``tf.function`` wrapping ``train_step``; then ``logs["loss"].numpy()``
  (TensorFlow runs the step synchronously on CPU anyway).
* jax: Keras's JAX trainer keeps the model state (trainable, non-trainable,
  optimizer and metric variables) outside the variables during ``fit`` and
  threads it through a pure train step. The script does the same: after
  ``model.make_train_function()`` it takes the state once with
  ``model._get_jax_state(...)`` and then each step runs
  ``logs, state = model.train_function(state, data)`` and
  ``float(logs["loss"])`` (which blocks until the step is done). ``data`` is
  an iterator yielding ``(x, y)`` (as ``fit`` passes its data iterator;
  with ``steps_per_execution=1`` the function takes one batch from it), and
  the returned state is the input of the next step. Under ``jax.jit`` the
  state is donated to the step, so the model's variables are stale after
  timing (the models are thrown away).
* torch: after ``model.make_train_function()``,
  ``model.train_function([(x, y)])`` (one ``train_step``, eager or
  ``torch.compile``'d), then ``float(logs["loss"])``.

On jax and torch the models are first built symbolically as ``fit`` does
(``model._symbolic_build``), which creates the optimizer variables.

``model.train_on_batch(x, y)`` runs the same train function but adds
per-call Python work (data wrapping, ``reset_metrics``, converting the logs
to Python floats; on JAX also reading the state from the variables and
writing it back every step); ``--method train_on_batch`` times that instead,
on every backend. ``--method predict_on_batch`` times inference:
``model.predict_on_batch(x)`` (the predict function on one batch, returning
NumPy).

Method:

1. The three models of one (network, jit) pair -- float, ``auto_po2``,
   ``alpha=1`` -- are built with the same seed and compiled; then
   ``--warmup`` untimed rounds run one step of each model (tracing, XLA
   compilation / ``torch.compile`` and its recompilations, allocator
   growth).
2. ``--rounds`` rounds follow in one process. In each round every model
   runs ``--steps`` consecutive steps, each timed alone; the order of the
   three models rotates from round to round, so drift (thermal, other
   processes) and order effects hit all of them alike.
3. The table gives the median ms per step of the float model and of the
   quantized model over all rounds, ``ratio`` = quantized / float (ratio of
   those medians) and ``spread``, the 10th-90th percentile range of the
   per-round ratios (median quantized step / median float step in that
   round): how stable the ratio is on this machine. The JSON output also
   has the backend, the median, minimum and maximum of the per-round ratios
   and every step time.

Threads: by default each backend picks its own thread pools (``--threads
0``, what a user gets). ``--threads N`` sets TensorFlow's intra- and
inter-op pools to N threads, or ``torch.set_num_threads(N)`` on torch;
``--threads 1`` is much less sensitive to other processes on a small,
shared machine (PyTorch's default pool on 2 busy cores can make eager steps
tens of times slower). JAX has no runtime switch for its CPU thread pool, so
``--threads`` is ignored on jax (``taskset -c 0 python ...`` limits every
backend to one core from outside).

Usage::

  python benchmarks/bench_layers.py                   # full run, TensorFlow
  python benchmarks/bench_layers.py --quick           # smoke test (~30 s)
  python benchmarks/bench_layers.py --backend jax     # jax.jit
  python benchmarks/bench_layers.py --backend torch   # PyTorch eager
  python benchmarks/bench_layers.py --backend torch --jit no,compile
  python benchmarks/bench_layers.py --json out.json   # also write results
  python benchmarks/bench_layers.py --threads 1       # one thread per pool

The script only measures and prints; it asserts nothing about the timings.
"""

import argparse
import importlib.util
import itertools
import json
import os
import random
import statistics
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")


def _backend_from_argv(argv):
  """``--backend`` from ``argv``, else ``$KERAS_BACKEND``, else tensorflow."""
  early = argparse.ArgumentParser(add_help=False)
  early.add_argument("--backend", choices=BACKENDS)
  known, _ = early.parse_known_args(argv)
  return known.backend or os.environ.get("KERAS_BACKEND") or "tensorflow"


if __name__ == "__main__":
  # Keras reads KERAS_BACKEND once, when it is first imported.
  os.environ["KERAS_BACKEND"] = _backend_from_argv(sys.argv[1:])
  if importlib.util.find_spec(os.environ["KERAS_BACKEND"]) is None:
    raise SystemExit(
        f"backend {os.environ['KERAS_BACKEND']} is not installed; installed: "
        f"{[b for b in BACKENDS if importlib.util.find_spec(b)]} (--backend)")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
  sys.path.insert(0, _REPO_ROOT)

import keras  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

from qkeras import QActivation  # pylint: disable=wrong-import-position
from qkeras import QConv2D  # pylint: disable=wrong-import-position
from qkeras import QDense  # pylint: disable=wrong-import-position
from qkeras import QLSTM  # pylint: disable=wrong-import-position
from qkeras.quantizers import quantized_bits  # pylint: disable=wrong-import-position
from bench_common import machine_info  # pylint: disable=wrong-import-position

NETWORKS = ("cnn", "mlp", "lstm")
WEIGHTS = ("auto_po2", "alpha=1")

# Per backend: the compilation modes (``jit`` column) -> what each runs.
# Every mode other than "no" is ``compile(jit_compile=True)``.
JIT_MODES = {
    "tensorflow": {"no": "tf.function graph",
                   "xla": "tf.function graph compiled by XLA"},
    "jax": {"xla": "jax.jit (XLA)",
            "no": "JAX op by op, eagerly"},
    "torch": {"no": "PyTorch eager",
              "compile": "torch.compile"},
}
# Per backend: the modes run when --jit is not given.
DEFAULT_JIT = {"tensorflow": ("no", "xla"), "jax": ("xla",),
               "torch": ("no",)}

# Per network: input shape, classes, default batch, weight bits, relu bits.
SPECS = {
    "cnn": {"input": (32, 32, 3), "classes": 10, "batch": 64, "bits": 4,
            "relu_bits": 4},
    "mlp": {"input": (16,), "classes": 5, "batch": 1024, "bits": 6,
            "relu_bits": 6},
    "lstm": {"input": (20, 8), "classes": 5, "batch": 256, "bits": 6,
             "relu_bits": 6},
}


# --------------------------------------------------------------------------
# Models.
# --------------------------------------------------------------------------
def _quantizer_args(bits, weights):
  """Kernel/bias quantizer arguments for a Q-layer."""
  if weights == "auto_po2":  # alpha=None; the layer makes it "auto_po2"
    kernel = quantized_bits(bits, 0, 1)
  elif weights == "alpha=1":
    kernel = quantized_bits(bits, 0, 1, alpha=1)
  else:
    raise ValueError(weights)
  return {"kernel_quantizer": kernel,
          "bias_quantizer": quantized_bits(bits, 0, 1)}


def build_cnn(weights=None):
  """The CNN; ``weights`` None gives the float model."""
  spec = SPECS["cnn"]
  inputs = keras.Input(spec["input"])
  x = inputs
  for filters, strides in ((32, 1), (64, 2), (64, 2)):
    if weights is None:
      x = keras.layers.Conv2D(filters, 3, strides=strides)(x)
      x = keras.layers.Activation("relu")(x)
    else:
      x = QConv2D(filters, 3, strides=strides,
                  **_quantizer_args(spec["bits"], weights))(x)
      x = QActivation(f"quantized_relu({spec['relu_bits']})")(x)
  x = keras.layers.Flatten()(x)
  if weights is None:
    outputs = keras.layers.Dense(spec["classes"])(x)
  else:
    outputs = QDense(spec["classes"],
                     **_quantizer_args(spec["bits"], weights))(x)
  return keras.Model(inputs, outputs)


def build_mlp(weights=None):
  """The jet-tagging MLP 16-64-32-32-5; ``weights`` None gives float."""
  spec = SPECS["mlp"]
  inputs = keras.Input(spec["input"])
  x = inputs
  for units in (64, 32, 32):
    if weights is None:
      x = keras.layers.Dense(units)(x)
      x = keras.layers.Activation("relu")(x)
    else:
      x = QDense(units, **_quantizer_args(spec["bits"], weights))(x)
      x = QActivation(f"quantized_relu({spec['relu_bits']})")(x)
  if weights is None:
    outputs = keras.layers.Dense(spec["classes"])(x)
  else:
    outputs = QDense(spec["classes"],
                     **_quantizer_args(spec["bits"], weights))(x)
  return keras.Model(inputs, outputs)


def build_lstm(weights=None):
  """LSTM(32) over 20 steps of 8 features -> Dense(5); None gives float.

  The quantized model is QLSTM with quantized kernel, recurrent kernel, bias
  and state and QKeras's default activations (quantized_tanh, hard_sigmoid);
  the float model is Keras's LSTM (tanh, sigmoid).
  """
  spec = SPECS["lstm"]
  inputs = keras.Input(spec["input"])
  if weights is None:
    x = keras.layers.LSTM(32)(inputs)
    outputs = keras.layers.Dense(spec["classes"])(x)
  else:
    args = _quantizer_args(spec["bits"], weights)
    x = QLSTM(32, recurrent_quantizer=args["kernel_quantizer"],
              state_quantizer=quantized_bits(8, 0, 1, alpha=1), **args)(inputs)
    outputs = QDense(spec["classes"],
                     **_quantizer_args(spec["bits"], weights))(x)
  return keras.Model(inputs, outputs)


BUILDERS = {"cnn": build_cnn, "mlp": build_mlp, "lstm": build_lstm}


def set_seed(seed):
  """Seeds Python, NumPy and the backend, importing no other framework.

  ``keras.utils.set_random_seed`` also imports and seeds TensorFlow whenever
  it is installed, whatever the backend, which would load TensorFlow (and
  its thread pools) into a JAX or PyTorch run. Keras's initializers without
  a seed draw one from Python's ``random``, so this gives every model of a
  network the same initial weights on every backend.
  """
  backend = keras.backend.backend()
  if backend == "tensorflow":
    keras.utils.set_random_seed(seed)
    return
  random.seed(seed)
  np.random.seed(seed)
  if backend == "torch":
    import torch  # pylint: disable=g-import-not-at-top
    torch.manual_seed(seed)


def make_model(network, weights, jit):
  """Builds and compiles a model; ``jit`` "no" is ``jit_compile=False``."""
  set_seed(0)
  model = BUILDERS[network](weights)
  model.compile(optimizer=keras.optimizers.Adam(),
                loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                jit_compile=(jit != "no"))
  if bool(model.jit_compile) != (jit != "no"):
    print(f"note: {network} {weights or 'float'}: Keras set jit_compile="
          f"{model.jit_compile} (asked for {jit != 'no'})", flush=True)
  return model


def make_batch(network, batch, seed=0):
  """(x, y) as backend tensors: standard-normal inputs, one-hot labels."""
  spec = SPECS[network]
  rng = np.random.default_rng(seed)
  x = rng.standard_normal((batch,) + spec["input"]).astype(np.float32)
  labels = rng.integers(0, spec["classes"], size=batch)
  y = np.eye(spec["classes"], dtype=np.float32)[labels]
  return keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)


def kernel_quantizer_text(model):
  """str() of the first kernel quantizer the layers actually use."""
  for layer in model.layers:
    quantizer = getattr(layer, "kernel_quantizer_internal", None)
    if quantizer is not None:
      return str(quantizer)
  return "-"


# --------------------------------------------------------------------------
# Timing.
# --------------------------------------------------------------------------
def _tensorflow_step(model, x, y):
  """One call of the ``tf.function`` around ``train_step``, then the loss."""
  model.make_train_function()
  train_function = model.train_function
  data = [(x, y)]  # a Python iterable: exactly one step per call

  def step():
    logs = train_function(data)
    logs["loss"].numpy()
  return step


def _jax_step(model, x, y):
  """One call of the (jitted) pure train step, threading the JAX state.

  As in Keras's ``fit`` on JAX: the state (trainable, non-trainable,
  optimizer and metric variables) is read from the model once and each step
  returns the state for the next one. ``train_function(state, iterator)``
  takes one batch from the iterator (``steps_per_execution=1``).
  """
  model._symbolic_build(data_batch=(x, y))  # pylint: disable=protected-access
  model.make_train_function()
  train_function = model.train_function
  data = itertools.repeat((x, y))
  state = model._get_jax_state(  # pylint: disable=protected-access
      trainable_variables=True, non_trainable_variables=True,
      optimizer_variables=True, metrics_variables=True)

  def step():
    nonlocal state
    logs, state = train_function(state, data)
    float(logs["loss"])  # blocks until the step is done
  return step


def _torch_step(model, x, y):
  """One call of ``train_step`` (eager or ``torch.compile``), then the loss."""
  model._symbolic_build(data_batch=(x, y))  # pylint: disable=protected-access
  model.make_train_function()
  train_function = model.train_function
  data = [(x, y)]  # the function trains on data[0]

  def step():
    logs = train_function(data)
    float(logs["loss"])
  return step


_TRAIN_FUNCTION_STEPS = {"tensorflow": _tensorflow_step, "jax": _jax_step,
                         "torch": _torch_step}


def step_fn(model, x, y, method):
  """A no-argument callable running one train step and waiting for it."""
  if method == "train_function":
    return _TRAIN_FUNCTION_STEPS[keras.backend.backend()](model, x, y)
  if method == "train_on_batch":
    def step():
      model.train_on_batch(x, y)  # returns Python floats: already waited
    return step
  if method == "predict_on_batch":
    def step():
      model.predict_on_batch(x)  # returns NumPy: already waited
    return step
  raise ValueError(method)


def percentile(sorted_values, q):
  """Nearest-rank ``q``-th percentile of an already sorted list."""
  k = max(0, min(len(sorted_values) - 1,
                 int(round(q / 100 * (len(sorted_values) - 1)))))
  return sorted_values[k]


def time_steps(step, n):
  times = []
  for _ in range(n):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
  return times


def _rotated(names, r):
  return names[r % len(names):] + names[:r % len(names)]


def compare(steps, rounds, steps_per_round, warmup):
  """Alternating timing of ``steps`` (name -> callable); per-round times.

  The warm-up alternates too (one step of each model per warm-up round), so
  that whatever switching between the models costs the first time (e.g.
  torch.compile recompiling shared functions) happens before the timing.
  """
  names = list(steps)
  for r in range(warmup):
    for name in _rotated(names, r):
      steps[name]()
  per_round = {name: [] for name in names}
  for r in range(rounds):
    for name in _rotated(names, r):
      per_round[name].append(time_steps(steps[name], steps_per_round))
  return per_round


def bench(networks, jit_modes, weights_list, args):
  results = []
  for network in networks:
    batch = args.batch.get(network, SPECS[network]["batch"])
    x, y = make_batch(network, batch)
    for jit in jit_modes:
      models = {"float": make_model(network, None, jit)}
      for weights in weights_list:
        models[weights] = make_model(network, weights, jit)
      steps = {name: step_fn(m, x, y, args.method)
               for name, m in models.items()}
      per_round = compare(steps, args.rounds, args.steps, args.warmup)
      float_rounds = per_round["float"]
      float_ms = 1e3 * statistics.median(sum(float_rounds, []))
      for weights in weights_list:
        q_rounds = per_round[weights]
        quant_ms = 1e3 * statistics.median(sum(q_rounds, []))
        round_ratios = sorted(statistics.median(q) / statistics.median(f)
                              for q, f in zip(q_rounds, float_rounds))
        results.append({
            "backend": keras.backend.backend(),
            "network": network,
            "batch": batch,
            "weights": weights,
            "kernel_quantizer": kernel_quantizer_text(models[weights]),
            "jit": jit,
            "float_ms": float_ms,
            "quantized_ms": quant_ms,
            "ratio": quant_ms / float_ms,
            "round_ratio_p10": percentile(round_ratios, 10),
            "round_ratio_p90": percentile(round_ratios, 90),
            "round_ratio_median": statistics.median(round_ratios),
            "round_ratio_min": round_ratios[0],
            "round_ratio_max": round_ratios[-1],
            "float_ms_per_step": [1e3 * t for t in sum(float_rounds, [])],
            "quantized_ms_per_step": [1e3 * t for t in sum(q_rounds, [])],
        })
        print_row(results[-1], flush=True)
  return results


def _jit_width():
  return max(len(m) for m in JIT_MODES[keras.backend.backend()])


def print_header():
  print(f"{'network':<8}  {'batch':>5}  {'weights':<9}  "
        f"{'jit':<{_jit_width()}}  "
        f"{'float_ms':>8}  {'quantized_ms':>12}  {'ratio':>6}  spread")


def print_row(r, flush=False):
  print(f"{r['network']:<8}  {r['batch']:>5}  {r['weights']:<9}  "
        f"{r['jit']:<{_jit_width()}}  "
        f"{r['float_ms']:>8.2f}  {r['quantized_ms']:>12.2f}  "
        f"{r['ratio']:>6.2f}  "
        f"{r['round_ratio_p10']:.2f}-{r['round_ratio_p90']:.2f}", flush=flush)


def _split(text, allowed, option):
  items = [s.strip() for s in text.split(",") if s.strip()]
  bad = [s for s in items if s not in allowed]
  if bad:
    raise SystemExit(f"{option}: unknown {bad}; choose from {list(allowed)}")
  return items


def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--backend", choices=BACKENDS,
                 default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                 help="Keras backend (default: $KERAS_BACKEND, else "
                      "tensorflow)")
  p.add_argument("--networks", default=",".join(NETWORKS),
                 help="comma-separated subset of cnn,mlp,lstm")
  p.add_argument("--jit", default=None,
                 help="comma-separated compilation modes: tensorflow no,xla "
                      "(default both); jax xla (default),no; torch no "
                      "(default),compile (torch.compile)")
  p.add_argument("--weights", default=",".join(WEIGHTS),
                 help="comma-separated subset of auto_po2,alpha=1")
  p.add_argument("--rounds", type=int, default=None,
                 help="alternating rounds per (network, jit) (default 30)")
  p.add_argument("--steps", type=int, default=None,
                 help="timed steps of each model per round (default 5)")
  p.add_argument("--warmup", type=int, default=None,
                 help="untimed rounds of one step of each model first "
                      "(default 5)")
  p.add_argument("--cnn-batch", type=int, default=None,
                 help=f"CNN batch size (default {SPECS['cnn']['batch']})")
  p.add_argument("--mlp-batch", type=int, default=None,
                 help=f"MLP batch size (default {SPECS['mlp']['batch']})")
  p.add_argument("--lstm-batch", type=int, default=None,
                 help=f"LSTM batch size (default {SPECS['lstm']['batch']})")
  p.add_argument("--threads", type=int, default=0,
                 help="TensorFlow intra- and inter-op threads, or "
                      "torch.set_num_threads; ignored on jax (default 0: "
                      "the backend's choice)")
  p.add_argument("--method", default="train_function",
                 choices=("train_function", "train_on_batch",
                          "predict_on_batch"),
                 help="what one timed step calls (default train_function)")
  p.add_argument("--quick", action="store_true",
                 help="few rounds and steps: smoke test")
  p.add_argument("--json", metavar="PATH", help="also write results here")
  args = p.parse_args(argv)
  quick = {"rounds": 3, "steps": 2, "warmup": 2}
  full = {"rounds": 30, "steps": 5, "warmup": 5}
  for key, value in (quick if args.quick else full).items():
    if getattr(args, key) is None:
      setattr(args, key, value)
  args.networks = _split(args.networks, NETWORKS, "--networks")
  if args.backend not in BACKENDS:  # an unsupported $KERAS_BACKEND
    raise SystemExit(f"--backend: {args.backend!r} is not one of "
                     f"{list(BACKENDS)}")
  if args.jit is None:
    args.jit = list(DEFAULT_JIT[args.backend])
  else:
    if args.backend == "torch" and "xla" in args.jit.split(","):
      raise SystemExit("--jit: on torch, jit_compile=True is torch.compile; "
                       "ask for it with --jit compile")
    args.jit = _split(args.jit, JIT_MODES[args.backend], "--jit")
  args.weights = _split(args.weights, WEIGHTS, "--weights")
  args.batch = {n: b for n, b in (("cnn", args.cnn_batch),
                                  ("mlp", args.mlp_batch),
                                  ("lstm", args.lstm_batch)) if b is not None}
  return args


def set_threads(backend, threads):
  """Applies ``--threads`` to the backend; returns what was set, as text."""
  if not threads:
    return "default"
  if backend == "tensorflow":
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return f"{threads} (TensorFlow intra- and inter-op pools)"
  if backend == "torch":
    import torch  # pylint: disable=g-import-not-at-top
    torch.set_num_threads(threads)
    return f"{threads} (torch.set_num_threads)"
  return "default (--threads is ignored on jax)"


def allow_torch_recompiles(limit=64):
  """Raises torch.compile's per-function recompile limit (default 8).

  Dynamo guards on the model and layer instances, so the three models of a
  (network, jit) pair, each with several layers, get separate entries for
  shared functions such as Keras's ``Layer.forward``; past the limit Dynamo
  falls back to eager for them, which one model alone in a process (what a
  user trains) does not hit.
  """
  # pylint: disable-next=g-import-not-at-top
  from torch._dynamo import config as dynamo_config
  if hasattr(dynamo_config, "recompile_limit"):
    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, limit)
  else:  # torch < 2.6
    dynamo_config.cache_size_limit = max(dynamo_config.cache_size_limit,
                                         limit)


def main(argv=None):
  args = parse_args(argv)
  backend = keras.backend.backend()
  if backend != args.backend:
    raise SystemExit(f"Keras was imported with the {backend} backend, not "
                     f"{args.backend}: run the script with --backend "
                     f"{args.backend} (or set KERAS_BACKEND) before Keras "
                     "is imported")
  threads = set_threads(backend, args.threads)
  info = machine_info()
  print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
  print(f"backend: {backend} {info.get(backend)}; jit: " + "; ".join(
      f"{m} = {JIT_MODES[backend][m]}" for m in args.jit))
  if backend == "torch" and "compile" in args.jit:
    allow_torch_recompiles()
    print("note: torch.compile compiles during the warm-up steps; that can "
          "take minutes per model")
  if backend == "jax" and "no" in args.jit:
    print("note: jax without jit runs every op eagerly; expect slow steps")
  print(f"method: {args.method}, threads={threads}, "
        f"rounds={args.rounds}, "
        f"steps/round={args.steps}, warmup={args.warmup}; "
        f"ratio = quantized / float train-step time\n")
  print_header()
  results = bench(args.networks, args.jit, args.weights, args)
  quantizers = sorted({(r["network"], r["weights"], r["kernel_quantizer"])
                       for r in results})
  print("\nkernel quantizers as used by the layers: " + "; ".join(
      f"{n} {w}: {q}" for n, w, q in quantizers))
  if hasattr(os, "getloadavg"):
    print(f"load average at the end (1 min): {os.getloadavg()[0]:.2f}")

  if args.json:
    out = {k: v for k, v in vars(args).items()}
    with open(args.json, "w") as f:
      json.dump({"machine": info, "args": out, "layers": results}, f,
                indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
  main()
