"""Loading a saved model in a fresh Python process (shared by the tests)."""

import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = """
import sys, numpy as np, keras, qkeras
model = keras.models.load_model(sys.argv[1], safe_mode=True)
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
print(sorted(w.path for w in model.weights))
"""


def predict_in_fresh_process(model_path, x, tmp_path):
  """``keras.models.load_model(model_path, safe_mode=True).predict(x)`` in a
  new interpreter that only ran ``import qkeras`` (no custom_objects).

  Returns ``(predictions, printed weight paths)``.
  """
  x_path, y_path = str(tmp_path / "fresh_x.npy"), str(tmp_path / "fresh_y.npy")
  np.save(x_path, x)
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  out = subprocess.run(
      [sys.executable, "-c", _SCRIPT, str(model_path), x_path, y_path],
      env=env, check=True, capture_output=True, text=True).stdout
  return np.load(y_path), out
