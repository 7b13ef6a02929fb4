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
_OWN_MARKER = "qkeras/_po2_table.py"


def _metadata_files(info_dir):
  """The installed-file list of a ``.dist-info`` / ``.egg-info`` dir (text)."""
  for name in ("RECORD", "installed-files.txt", "SOURCES.txt"):
    path = os.path.join(info_dir, name)
    if os.path.isfile(path):
      try:
        with open(path, encoding="utf-8", errors="replace") as f:
          return f.read()
      except OSError:
        return ""
  return ""


def _owns_qkeras(info_dir, files):
  top_level = os.path.join(info_dir, "top_level.txt")
  if os.path.isfile(top_level):
    try:
      with open(top_level, encoding="utf-8", errors="replace") as f:
        if "qkeras" in f.read().split():
          return True
    except OSError:
      pass
  return files.startswith("qkeras/") or "\nqkeras/" in files or (
      "../qkeras/" in files)


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
      files = _metadata_files(info_dir)
      if _owns_qkeras(info_dir, files) and _OWN_MARKER not in files:
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
