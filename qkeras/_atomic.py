# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Writing files so that a failure never destroys the file already there.

Every qkeras function that writes a file writes it to a temporary file in
the same folder and then renames that onto the target with ``os.replace``
(atomic within one file system, on POSIX and Windows). A writer that fails
midway (disk full, an exception, a killed process) leaves the old file as it
was; only the temporary file is lost, and it is removed when Python can. A
folder that cannot be written raises an ``OSError`` naming the target path.
Standard library only (a foundation).
"""

import contextlib
import os
import secrets
import stat

__all__ = ["replacing", "write_text"]


def _temporary_path(target, suffix):
  folder, name = os.path.split(os.path.abspath(target))
  token = f"{os.getpid()}.{secrets.token_hex(4)}"
  return os.path.join(folder, f".{name}.{token}.tmp{suffix}")


def _fsync(path):
  """Flushes ``path``'s data to disk before the rename (best effort)."""
  try:
    fd = os.open(path, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)


def _remove(path):
  with contextlib.suppress(OSError):
    os.remove(path)


@contextlib.contextmanager
def replacing(path, suffix=""):
  """Yields a temporary path next to ``path``; write the file there.

  When the block ends normally the temporary file replaces ``path``
  (``os.replace``; an existing file's permission bits are kept, a new file
  gets ``0o666`` less the umask, as ``open`` gives). When the block raises,
  the temporary file is removed and ``path`` is left as it was; an
  ``OSError`` with an ``errno`` (a full disk) is raised again as its own
  class with the message ``cannot write '<path>': <reason>``. A symbolic
  link at ``path`` is followed: its target is replaced.

  Args:
    path: the file to write (str or path-like).
    suffix: the temporary name ends with it, for writers that check the
      extension (Keras's ``.weights.h5``).

  Raises:
    OSError: (its own subclass, e.g. ``NotADirectoryError``) naming
      ``path`` when the folder cannot be written or the rename fails.
  """
  path = os.fspath(path)
  target = os.path.realpath(path) if os.path.islink(path) else path
  temporary = _temporary_path(target, suffix)
  try:
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
  except OSError as e:
    raise type(e)(e.errno, f"cannot write {path!r}: {e.strerror}") from e
  os.close(fd)
  try:
    with contextlib.suppress(FileNotFoundError):
      os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
    try:
      yield temporary
    except OSError as e:
      if e.errno is None:
        raise
      # The writer's own error (disk full: ENOSPC, EFBIG) names no file,
      # or the temporary one: name the target instead.
      raise type(e)(e.errno, f"cannot write {path!r}: {e.strerror}") from e
    _fsync(temporary)
    try:
      os.replace(temporary, target)
    except OSError as e:
      raise type(e)(e.errno, f"cannot write {path!r}: {e.strerror}") from e
  except BaseException:
    _remove(temporary)
    raise


def write_text(path, text, encoding="utf-8"):
  """Writes ``text`` to ``path`` through ``replacing`` (all or nothing)."""
  with replacing(path) as temporary:
    with open(temporary, "w", encoding=encoding) as f:
      f.write(text)
