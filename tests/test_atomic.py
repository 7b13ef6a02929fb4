"""Saving never destroys the file already there (issue 19, item 3).

Every qkeras function that writes a file writes a temporary file in the
same folder and renames it onto the target (``qkeras._atomic``). Checked for
each writer -- ``model_save_quantized_weights`` (Keras 3 ``.weights.h5`` and
Keras 2 ``.h5``), ``QTools.qtools_stats_to_json``,
``autoqkeras.save_quantization_dict`` and ``qonnx.to_qonnx`` -- and each
fault in ``FAULTS`` (the disk filling up after part of the file is written,
an exception from the writer, Ctrl-C): the call raises, the existing file
keeps its bytes and still loads, and no temporary file is left. A folder
that cannot be written (missing, a file in its place) raises an ``OSError``
that names the target. One more test fills a real (size-limited) disk in
a child process: ``RLIMIT_FSIZE`` makes the writes themselves fail.
"""

import errno
import json
import os
import stat
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest

import qkeras
from qkeras import _atomic
from qkeras.autoqkeras import save_quantization_dict
from qkeras.qtools import QTools
from qkeras.utils import model_save_quantized_weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(seed):
  keras.utils.set_random_seed(seed)
  inputs = keras.Input((6,), name="x")
  y = qkeras.QDense(4, kernel_quantizer="quantized_bits(4,0,1)",
                    bias_quantizer="quantized_bits(4,0,1)", name="dense")(
                        inputs)
  y = qkeras.QActivation("quantized_relu(4)", name="act")(y)
  return keras.Model(inputs, y)


# -- the writers: write(model, path), check(path) that the file loads ------


def _load_weights(path):
  _model(0).load_weights(path)


def _load_json(path):
  with open(path) as f:
    json.load(f)


def _write_qtools(model, path):
  QTools(model, source_quantizers=[qkeras.quantized_bits(8, 0, 1)]
        ).qtools_stats_to_json(path)


def _write_onnx(model, path):
  pytest.importorskip("onnx")
  from qkeras.qonnx import to_qonnx  # pylint: disable=g-import-not-at-top
  to_qonnx(model, path)


def _load_onnx(path):
  import onnx  # pylint: disable=g-import-not-at-top
  onnx.checker.check_model(onnx.load(path))


WRITERS = {
    "quantized_weights_keras3": ("w.weights.h5", model_save_quantized_weights,
                                 _load_weights),
    "quantized_weights_keras2": ("w.h5", model_save_quantized_weights,
                                 _load_weights),
    "qtools_stats_to_json": ("map.json", _write_qtools, _load_json),
    "save_quantization_dict": ("q.json",
                               lambda m, p: save_quantization_dict(p, m),
                               _load_json),
    "to_qonnx": ("m.onnx", _write_onnx, _load_onnx),
}


# -- the faults: each replaces a writer's final step ------------------------


class _Interrupted(KeyboardInterrupt):
  pass


def _disk_full(path):
  """Writes half of what the writer wrote, then fails as a full disk."""
  with open(path, "rb") as f:
    data = f.read()
  with open(path, "wb") as f:
    f.write(data[:len(data) // 2])
  raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def _writer_error(path):
  with open(path, "ab") as f:
    f.write(b"\0partial")
  raise RuntimeError("the writer failed")


def _ctrl_c(path):
  with open(path, "r+b") as f:
    f.truncate(10)
  raise _Interrupted()


FAULTS = {"disk_full": (_disk_full, OSError),
          "writer_error": (_writer_error, RuntimeError),
          "ctrl_c": (_ctrl_c, KeyboardInterrupt)}


def _faulty_replace(monkeypatch, fault):
  """Makes ``_atomic.replacing`` run ``fault(temporary)`` once the writer
  has written the temporary file (before the rename)."""
  original = _atomic.replacing

  class _Faulty:

    def __init__(self, path, suffix=""):
      self._context = original(path, suffix)

    def __enter__(self):
      self._temporary = self._context.__enter__()
      return self._temporary

    def __exit__(self, kind, error, tb):
      if kind is None:
        try:
          fault(self._temporary)
        except BaseException as e:  # pylint: disable=broad-except
          if not self._context.__exit__(type(e), e, e.__traceback__):
            raise
          return True
      return self._context.__exit__(kind, error, tb)

  monkeypatch.setattr(_atomic, "replacing", _Faulty)


def _listing(folder):
  return sorted(os.listdir(folder))


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_failure_midway_keeps_the_existing_file(writer, fault, tmp_path,
                                                  monkeypatch):
  name, write, check = WRITERS[writer]
  path = str(tmp_path / name)
  write(_model(1), path)
  with open(path, "rb") as f:
    before = f.read()
  make_fault, error = FAULTS[fault]
  _faulty_replace(monkeypatch, make_fault)
  with pytest.raises(error) as info:
    write(_model(2), path)
  if fault == "disk_full":
    assert str(info.value) == f"[Errno 28] cannot write {path!r}: " + (
        os.strerror(errno.ENOSPC))
  monkeypatch.undo()
  with open(path, "rb") as f:
    assert f.read() == before
  check(path)
  assert _listing(tmp_path) == [name]
  write(_model(2), path)  # and the next save works
  check(path)
  assert _listing(tmp_path) == [name]


@pytest.mark.parametrize("where", ["missing_folder", "file_as_folder"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_an_unwritable_folder_raises_an_error_naming_the_path(
    writer, where, tmp_path):
  name, write, _ = WRITERS[writer]
  (tmp_path / "a_file").write_text("x")
  folder = tmp_path / ("missing" if where == "missing_folder" else "a_file")
  path = str(folder / name)
  with pytest.raises(OSError) as info:
    write(_model(1), path)
  assert path in str(info.value)
  assert _listing(tmp_path) == ["a_file"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only folders")
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_read_only_folder_raises_permission_error(writer, tmp_path):
  name, write, _ = WRITERS[writer]
  folder = tmp_path / "read_only"
  folder.mkdir()
  folder.chmod(0o500)
  try:
    with pytest.raises(PermissionError, match="cannot write"):
      write(_model(1), str(folder / name))
    assert _listing(folder) == []
  finally:
    folder.chmod(0o700)


def test_replacing_keeps_permissions_and_follows_links(tmp_path):
  target = tmp_path / "real.json"
  target.write_text("old")
  target.chmod(0o640)
  link = tmp_path / "link.json"
  link.symlink_to(target)
  _atomic.write_text(str(link), "new")
  assert link.is_symlink() and target.read_text() == "new"
  assert stat.S_IMODE(target.stat().st_mode) == 0o640
  assert _listing(tmp_path) == ["link.json", "real.json"]


# -- a real full disk: RLIMIT_FSIZE in a child process -----------------------

_CHILD = r"""
import json, os, resource, signal, sys
import keras, qkeras
from qkeras.utils import model_save_quantized_weights
folder, limit = sys.argv[1], int(sys.argv[2])
keras.utils.set_random_seed(3)
x = keras.Input((64,))
y = qkeras.QDense(256, kernel_quantizer="quantized_bits(4,0,1)")(x)
model = keras.Model(x, y)
big = {"layers": ["q" * 1000] * 2000}
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
writers = {  # Keras's own HDF5 writer last: HDF5 may crash the process
    "w.h5": lambda p: model_save_quantized_weights(model, p),
    "q.json": lambda p: qkeras._atomic.write_text(p, json.dumps(big)),
    "w.weights.h5": lambda p: model_save_quantized_weights(model, p),
}
for name, write in writers.items():
  try:
    write(os.path.join(folder, name))
    result = "written"
  except BaseException as e:  # pylint: disable=broad-except
    result = type(e).__name__ + ": " + " ".join(str(e).split())[:300]
  print(json.dumps([name, result]), flush=True)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE (Linux)")
def test_a_really_full_disk_keeps_the_existing_files(tmp_path):
  """The files grow past the size limit (``RLIMIT_FSIZE``, 64 KiB) in a
  child process: the writes themselves fail (EFBIG). The Keras 2 ``.h5``
  and JSON writers raise OSError; Keras's own ``.weights.h5`` writer goes
  through HDF5, which may crash the process at close (h5py 3) -- its
  temporary file then stays, but the existing file is intact all the
  same."""
  names = ("w.h5", "q.json", "w.weights.h5")
  small = _model(1)
  model_save_quantized_weights(small, str(tmp_path / "w.weights.h5"))
  model_save_quantized_weights(small, str(tmp_path / "w.h5"))
  (tmp_path / "q.json").write_text(json.dumps({"old": True}))
  old = {name: (tmp_path / name).read_bytes() for name in names}
  assert all(len(data) < 64 * 2**10 for data in old.values())
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  child = subprocess.run(
      [sys.executable, "-c", _CHILD, str(tmp_path), str(64 * 2**10)],
      env=env, capture_output=True, text=True, timeout=300, check=False)
  results = dict(json.loads(line) for line in child.stdout.splitlines()
                 if line.startswith("["))
  for name in ("w.h5", "q.json"):
    assert results[name].startswith("OSError: [Errno 27]"), (
        results, child.stderr[-3000:])
    assert str(tmp_path / name) in results[name]
  assert results.get("w.weights.h5", "crashed") != "written"
  for name in names:
    assert (tmp_path / name).read_bytes() == old[name], name
  _load_weights(str(tmp_path / "w.weights.h5"))
  _load_weights(str(tmp_path / "w.h5"))
  left = set(_listing(tmp_path)) - set(names)
  if child.returncode == 0:
    assert not left, left
  else:  # HDF5 crashed in Keras's writer: at most its temporary file left
    assert "w.weights.h5" not in results or not left, (results, left)
    assert all(n.startswith(".w.weights.h5.") for n in left), left
