#!/usr/bin/env bash
# GPU check for the JAX and PyTorch backends, run on a lent device machine
# (see docs/compat.md "Backends"): the golden QKeras fixtures, the quantizer
# and Q-layer tests and the backend tests, with the tensors on the GPU.
# The machine has JAX and PyTorch with CUDA but neither Keras nor TensorFlow:
# Keras travels as wheels in .whl/ (pip download, see the device README), and
# the comparison is against the fixtures made with QKeras on TensorFlow.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  .whl/*.whl || exit 1   # into the interpreter's site: subprocesses see it
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
export XLA_PYTHON_CLIENT_PREALLOCATE=false   # several pytest workers share the GPU
nvidia-smi -L
out=${OUT:-/tmp}
status=0
for backend in jax torch; do
  echo "== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python3 tools/gpu_probe.py
  KERAS_BACKEND=$backend python3 -c "
import keras, qkeras
x = keras.ops.convert_to_tensor([0.3, -1.7, 2.2])
y = qkeras.quantized_po2(4)(x)
print(keras.__version__, keras.backend.backend(), 'input on', getattr(x, 'device', None), 'po2:', keras.ops.convert_to_numpy(y))
" || status=1
  KERAS_BACKEND=$backend timeout ${GPU_CHECK_TIMEOUT:-200} python3 -m pytest -q -n ${GPU_CHECK_WORKERS:-12} \
    -p no:cacheprovider ${GPU_CHECK_TESTS:-tests/test_quantizers_golden.py \
    tests/test_quantizers.py tests/test_qlayers.py tests/test_backends.py \
    tests/test_qkeras09_models.py} \
    > "$out/$backend.log" 2>&1
  rc=$?
  tail -n 25 "$out/$backend.log"
  [ $rc -eq 0 ] || status=1
done
if [ -n "${GPU_CHECK_XLA_FLAGS:-}" ]; then  # other XLA settings, for the record
  for flags in $GPU_CHECK_XLA_FLAGS; do
    XLA_FLAGS=$flags KERAS_BACKEND=jax python3 tools/gpu_probe.py 2>&1 | tail -n 7
  done
fi
exit $status
