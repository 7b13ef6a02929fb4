"""The notebooks in notebook/: committed with outputs, and they still run.

Each notebook is re-executed with nbclient in a temporary copy (the committed
files are never written) with ``QKERAS_NOTEBOOK_FAST=1`` (tiny epochs and
samples), failing on any cell error. The kernel is this interpreter
(``sys.executable``) importing the same ``qkeras`` as the tests, whatever
kernelspecs the machine has installed.
"""

import os
import re
import shutil
import sys

import nbformat
import pytest
from ipykernel import kernelspec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

import qkeras

pytestmark = pytest.mark.default_backend_only(
    "the notebooks make library calls tested on every backend")

NOTEBOOK_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "notebook")
NOTEBOOKS = ["QKerasTutorial.ipynb", "QRNNTutorial.ipynb",
             "CodebookQuantization.ipynb", "AutoQKeras.ipynb"]
CELL_TIMEOUT_S = 600


def _read(name):
  return nbformat.read(os.path.join(NOTEBOOK_DIR, name), as_version=4)


def _code_cells(nb):
  return [c for c in nb.cells if c.cell_type == "code"]


def _text(cell):
  return "".join(o.get("text", "") for o in cell.outputs
                 if o.output_type == "stream")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_has_outputs_of_a_full_run(name):
  nb = _read(name)
  nbformat.validate(nb)
  assert nb.metadata.kernelspec.name == "python3"
  cells = _code_cells(nb)
  assert cells
  counts = [c.execution_count for c in cells]
  not_run = [i for i, n in enumerate(counts) if n is None]
  assert not not_run, f"{name}: code cells {not_run} have not been executed"
  assert counts == sorted(counts) and len(set(counts)) == len(counts), (
      f"{name}: cells were not executed once, top to bottom: {counts}")
  errors = [(i, o.get("ename")) for i, c in enumerate(cells)
            for o in c.outputs if o.output_type == "error"]
  assert not errors, f"{name}: error outputs {errors}"
  # The first cell prints the mode: committed outputs are a full run.
  assert "fast mode: False" in _text(cells[0]), _text(cells[0])
  assert sum(len(c.outputs) for c in cells) >= len(cells) - 2


def test_autoqkeras_notebook_shows_a_search():
  """The committed AutoQKeras run prints one line per trial, and its table
  ranks the energies: searched model < uniform 8-bit < float."""
  text = "".join(_text(c) for c in _code_cells(_read("AutoQKeras.ipynb")))
  assert text.count("AutoQKeras trial ") >= 12
  rows = dict(re.findall(r"^(float \(fp32\)|uniform 8-bit|AutoQKeras "
                         r"\(energy goal\)) +([\d.]+ +\d+)", text,
                         re.MULTILINE))
  assert len(rows) == 3, rows
  (float_acc, float_pj), (acc_8bit, pj_8bit), (acc_auto, pj_auto) = [
      (float(a), int(e)) for a, e in (rows[k].split() for k in (
          "float (fp32)", "uniform 8-bit", "AutoQKeras (energy goal)"))]
  assert pj_auto < pj_8bit < float_pj, rows
  assert min(float_acc, acc_8bit, acc_auto) > 0.85, rows


@pytest.fixture
def kernel_manager(tmp_path, monkeypatch):
  """A kernel manager for this interpreter, with the fast settings."""
  kernels = tmp_path / "kernels"
  kernelspec.write_kernel_spec(str(kernels / "python3"))  # sys.executable
  qkeras_root = os.path.dirname(os.path.dirname(
      os.path.abspath(qkeras.__file__)))
  path = os.environ.get("PYTHONPATH")
  monkeypatch.setenv("PYTHONPATH", qkeras_root + (
      os.pathsep + path if path else ""))
  monkeypatch.setenv("QKERAS_NOTEBOOK_FAST", "1")
  monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
  manager = KernelManager(kernel_name="python3", kernel_spec_manager=(
      KernelSpecManager(kernel_dirs=[str(kernels)])))
  assert manager.kernel_spec.argv[0] == sys.executable
  yield manager
  if manager.has_kernel:
    manager.shutdown_kernel(now=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_fast_mode(name, tmp_path, kernel_manager):
  work = tmp_path / "run"
  work.mkdir()
  copy = work / name
  shutil.copyfile(os.path.join(NOTEBOOK_DIR, name), copy)
  nb = nbformat.read(str(copy), as_version=4)
  client = NotebookClient(nb, km=kernel_manager, timeout=CELL_TIMEOUT_S,
                          startup_timeout=120, allow_errors=False,
                          resources={"metadata": {"path": str(work)}})
  # Raises CellExecutionError on any cell error; shuts the kernel down.
  client.execute(cleanup_kc=True)
  cells = _code_cells(nb)
  assert all(c.execution_count is not None for c in cells)
  assert "fast mode: True" in _text(cells[0])
  # The notebook cleans up after itself.
  assert sorted(os.listdir(work)) == [name]
