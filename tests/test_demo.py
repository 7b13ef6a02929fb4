"""The demo (README command 1) runs and shows every section."""

import subprocess
import sys

import keras
import pytest

from qkeras import demo


@pytest.mark.default_backend_only("the demo: calls tested on every backend")
def test_demo_main(capsys):
  assert demo.main(["--epochs", "1"]) == 0
  out = capsys.readouterr().out
  for heading in ("1. Quantizer transfer values", "2. Quantizing a 64x8",
                  "3. Quantizer strings are parsed", "4. Keras serialization",
                  "5. The QKeras README network", "6. A QLSTM sequence",
                  "7. model_quantize: the trained float network",
                  "Number of operations in model:", "Weight profiling:",
                  "Total Sparsity", "8. QTools: estimated energy",
                  "9. AutoQKeras: 3 random trials"):
    assert heading in out
  assert "identical outputs = True" in out
  assert "ValueError: Cannot parse quantizer" in out
  assert "identical predictions = True" in out
  assert "first_conv2d            QConv2D  stochastic_ternary" in out
  assert "first_conv2d                  : 5832  (smux_2_8)" in out
  # The converted model is fully quantized at the end of fine-tuning: its
  # exported kernel holds 4-bit integer codes.
  codes = out.split("integer codes ")[1].split(",")[0]
  low, high = (int(v) for v in codes.split(".."))
  assert -7 <= low < 0 < high <= 7
  energies = {}
  for line in out.split("8. QTools")[1].splitlines()[1:4]:
    name, rest = line[:40].strip(), line[40:]
    energies[name] = int(rest.split("pJ")[0])
  assert len(energies) == 3
  float_pj = energies["float network (fp32)"]
  assert all(0 < pj < float_pj / 5 for name, pj in energies.items()
             if name != "float network (fp32)"), energies
  # Section 9: one line per AutoQKeras trial, then the best model, cheaper
  # than the float network.
  autoqk = out.split("9. AutoQKeras")[1]
  assert autoqk.count("AutoQKeras trial ") == 3, autoqk
  assert "| val_score " in autoqk and "bits k/b/a: " in autoqk
  best_pj = int(autoqk.split("energy ")[-1].split(" pJ")[0])
  assert 0 < best_pj < float_pj / 5, (best_pj, float_pj)
  assert f"({float_pj} pJ; the search's int8 reference" in autoqk


@pytest.mark.slow
def test_seed_network_qat_reaches_float_accuracy():
  """The README network, quantized, trains like the float one on digits."""
  data = demo.load_digits_data(seed=0)
  # Seeded before each build: the float network's initial weights used to
  # come from an unseeded generator (its accuracy, and so the bound below,
  # varied from run to run: 0.9805 or 0.9861 on JAX).
  keras.utils.set_random_seed(0)
  float_acc = demo.train(demo.seed_network(quantized=False), data, 15)
  keras.utils.set_random_seed(0)
  q_acc = demo.train(demo.seed_network(quantized=True), data, 15)
  assert float_acc > 0.93
  assert q_acc > 0.93 and q_acc > float_acc - 0.03, (float_acc, q_acc)


def test_bad_epochs():
  with pytest.raises(SystemExit):
    demo.main(["--epochs", "0"])


def test_demo_help():
  result = subprocess.run([sys.executable, "-m", "qkeras.demo", "--help"],
                          capture_output=True, text=True, check=True)
  assert "usage: python -m qkeras.demo" in result.stdout
