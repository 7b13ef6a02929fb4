# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""Detects other distributions that install a top-level ``qkeras`` package.

qkeras-v3 and HGQ2 (its ``qkeras`` shim) install a package named ``qkeras``
too. Installed next to this one, their files overwrite each other's and
``import qkeras`` silently gives a mix. ``import qkeras`` warns when a
distribution other than this one owns ``qkeras`` files in a directory on
``sys.path``. Only installed metadata is read (``*.dist-info`` / ``RECORD``,
``top_level.txt``, ``*.egg-info``): a few milliseconds, nothing imported.
"""

import os
import sys
import warnings

# A file that only this distribution installs: a distribution owning
# ``qkeras`` files without it is another project.
_OWN_MARKER = b"qkeras/_po2_table.py"


def _metadata_files(info_dir):
  """The installed-file list of a ``.dist-info`` / ``.egg-info`` dir (bytes)."""
  for name in ("RECORD", "installed-files.txt", "SOURCES.txt"):
    path = os.path.join(info_dir, name)
    try:
      with open(path, "rb") as f:
        return f.read()
    except OSError:
      continue
  return b""


def _top_level_names(info_dir):
  """Names in ``top_level.txt`` (setuptools), or None where there is none."""
  try:
    with open(os.path.join(info_dir, "top_level.txt"), "rb") as f:
      return f.read().split()
  except OSError:
    return None


def _foreign_owner(info_dir):
  """Whether this distribution installs ``qkeras`` files and is not ours."""
  top_level = _top_level_names(info_dir)
  if top_level is not None and b"qkeras" not in top_level:
    return False  # the common case: only a small file is read
  files = _metadata_files(info_dir)
  owns = top_level is not None or files.startswith(b"qkeras/") or (
      b"\nqkeras/" in files) or b"../qkeras/" in files
  return owns and _OWN_MARKER not in files


def _distribution_name(info_dir):
  """``name version`` from ``name-version.dist-info``."""
  base = os.path.basename(info_dir)
  for suffix in (".dist-info", ".egg-info"):
    if base.endswith(suffix):
      base = base[:-len(suffix)]
  name, _, version = base.partition("-")
  return f"{name} {version}".strip()


def other_qkeras_distributions(paths=None):
  """``[(distribution, directory)]`` of other projects' ``qkeras`` packages.

  Looks at every directory of ``paths`` (default ``sys.path``) that holds a
  ``qkeras`` package, and at the installed metadata there.
  """
  found = []
  for entry in sys.path if paths is None else paths:
    directory = os.path.abspath(entry or os.curdir)
    if not os.path.isdir(os.path.join(directory, "qkeras")):
      continue
    try:
      names = os.listdir(directory)
    except OSError:
      continue
    for name in names:
      if not name.endswith((".dist-info", ".egg-info")):
        continue
      info_dir = os.path.join(directory, name)
      if _foreign_owner(info_dir):
        found.append((_distribution_name(info_dir), directory))
  return found


def warn_if_mixed(paths=None):
  """Warns (``UserWarning``) for each other distribution owning ``qkeras``."""
  for distribution, directory in other_qkeras_distributions(paths):
    warnings.warn(
        f"Another distribution, '{distribution}', also installs a top-level "
        f"'qkeras' package in {directory}: its files and this qkeras's "
        "overwrite each other, so 'import qkeras' may give a mix of both. "
        f"Uninstall it (pip uninstall {distribution.split()[0]}) and reinstall "
        "qkeras, or keep the two in separate virtual environments.",
        UserWarning, stacklevel=3)
