"""The demo (README command 1) runs and shows every section."""

import io
import subprocess
import sys

from qkeras import demo


def test_demo_main(capsys):
  assert demo.main([]) == 0
  out = capsys.readouterr().out
  for heading in ("1. Quantizer transfer values", "2. Quantizing a 64x8",
                  "3. Quantizer strings are parsed", "4. Keras serialization"):
    assert heading in out
  assert "identical outputs = True" in out
  assert "ValueError: Cannot parse quantizer" in out


def test_demo_help():
  result = subprocess.run([sys.executable, "-m", "qkeras.demo", "--help"],
                          capture_output=True, text=True, check=True)
  assert "usage: python -m qkeras.demo" in result.stdout
