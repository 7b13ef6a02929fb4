"""Every Python snippet of README.md runs as pasted.

Each ```python block of README.md is run in a fresh Python process (the
repository root first on ``PYTHONPATH``, ``TF_CPP_MIN_LOG_LEVEL=3``,
``MPLBACKEND=Agg``, the current ``KERAS_BACKEND``, a temporary working
directory, a timeout). A failure names the block's README line and shows the
process's stderr; tracebacks point at README.md's own line numbers (the code
is compiled with README.md as its file name and its line offset). The
processes all start when the first snippet test runs, so they overlap on the
cores (under pytest-xdist each test runs its own instead).

Conventions in README.md, each an HTML comment (invisible on GitHub) on the
line right before the block's opening fence:

* ``<!-- readme-test: continues -->``: the block uses names defined by the
  block before it; the two run as one program, in one process (a chain of
  such blocks runs once, as a whole, not block by block).
* ``<!-- readme-test: skip (reason) -->``: the block is not run, for the
  reason given (it needs a download, hls4ml's g++ build, or is a deliberate
  fragment). The reason is required; keep skips to the minimum.

Any other ``readme-test`` comment, or one not followed by a ```python block,
fails the test. Other fenced blocks (bash, ...) are not run.
"""

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
TIMEOUT_S = 300

_MARKER = re.compile(r"^<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
_SKIP = re.compile(r"^skip\s*\((.*)\)$")

# Runs the blocks of one chain in one namespace; each block is compiled with
# README.md's path and padded to its line, so tracebacks show README lines.
_DRIVER = """
import json, sys
namespace = {"__name__": "__main__"}
with open(sys.argv[1]) as f:
  blocks = json.load(f)
for line, code in blocks:
  exec(compile("\\n" * (line - 1) + code, %r, "exec"), namespace)
""" % README


def _blocks(text):
  """The ```python blocks: dicts with the first code line, code, marker."""
  lines = text.splitlines()
  blocks, i = [], 0
  while i < len(lines):
    fence = lines[i].strip()
    if fence.startswith("```"):
      start, i = i, i + 1
      while i < len(lines) and lines[i].strip() != "```":
        i += 1
      if fence == "```python":
        prev = lines[start - 1].strip() if start else ""
        match = _MARKER.match(prev)
        blocks.append({"line": start + 2,
                       "code": "\n".join(lines[start + 1:i]) + "\n",
                       "marker": match.group(1) if match else None})
    i += 1
  return blocks


def _markers(text):
  """(README line, marker text, next line) of every readme-test comment."""
  lines = text.splitlines() + [""]
  return [(n + 1, m.group(1), lines[n + 1].strip())
          for n, line in enumerate(lines[:-1])
          for m in [_MARKER.match(line.strip())] if m]


def _chains(blocks):
  """Blocks grouped into programs: a block plus the blocks continuing it."""
  chains = []
  for block in blocks:
    marker = block["marker"]
    if marker is not None and _SKIP.match(marker):
      continue
    if marker == "continues":
      assert chains, f"README line {block['line']}: nothing to continue"
      chains[-1].append(block)
    else:
      chains.append([block])
  return chains


with open(README, encoding="utf-8") as _f:
  _TEXT = _f.read()
_CHAINS = _chains(_blocks(_TEXT))


def test_markers_are_well_formed():
  markers = _markers(_TEXT)
  for line, marker, next_line in markers:
    skip = _SKIP.match(marker)
    assert marker == "continues" or skip, (
        f"README.md line {line}: unknown readme-test marker {marker!r}")
    assert not skip or skip.group(1).strip(), (
        f"README.md line {line}: a skipped block must state its reason: "
        "<!-- readme-test: skip (reason) -->")
    assert next_line == "```python", (
        f"README.md line {line}: the marker must be right before a "
        f"```python block, found {next_line!r}")


def test_conventions_on_a_sample():
  """The parser's rules on a made-up README: chains, skips, bad markers."""
  text = "\n".join([
      "# t", "```python", "a = 1", "```",
      "<!-- readme-test: continues -->", "```python", "b = a", "```",
      "```bash", "ls", "```",
      "<!-- readme-test: skip (needs a download) -->", "```python", "x", "```",
      "```python", "c = 2", "```",
      "<!-- readme-test: skip () -->", "text"])
  blocks = _blocks(text)
  assert [b["line"] for b in blocks] == [3, 7, 14, 17]
  chains = _chains(blocks)
  assert [[b["code"] for b in c] for c in chains] == [
      ["a = 1\n", "b = a\n"], ["c = 2\n"]]
  markers = _markers(text)
  assert markers[-1] == (19, "skip ()", "text")
  assert _SKIP.match(markers[1][1]).group(1) == "needs a download"


def test_readme_has_snippets():
  assert len(_blocks(_TEXT)) >= 5
  assert _CHAINS


def _env():
  env = dict(os.environ)
  path = env.get("PYTHONPATH")
  env["PYTHONPATH"] = ROOT + (os.pathsep + path if path else "")
  env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  env["MPLBACKEND"] = "Agg"
  return env


class _Run:
  """One chain's program in its own process (started at once, awaited later)."""

  def __init__(self, chain, cwd):
    self.where = ", ".join(str(b["line"]) for b in chain)
    program = os.path.join(cwd, "readme_blocks.json")
    with open(program, "w", encoding="utf-8") as f:
      json.dump([(b["line"], b["code"]) for b in chain], f)
    self.process = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, program], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env=_env())

  def check(self):
    try:
      _, stderr = self.process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
      self.process.kill()
      self.process.communicate()
      pytest.fail(f"README.md snippet at line {self.where} ran past "
                  f"{TIMEOUT_S} s")
    assert self.process.returncode == 0, (
        f"README.md snippet at line {self.where} failed (exit "
        f"{self.process.returncode}):\n{stderr[-6000:]}")


@pytest.fixture(scope="module")
def started(tmp_path_factory):
  """Starts every chain's process at once (they overlap on several cores),
  unless pytest-xdist already spreads the tests over processes."""
  if os.environ.get("PYTEST_XDIST_WORKER"):
    yield {}
    return
  runs = {id(c): _Run(c, tmp_path_factory.mktemp("readme")) for c in _CHAINS}
  yield runs
  for run in runs.values():
    if run.process.poll() is None:
      run.process.kill()
      run.process.communicate()


@pytest.mark.parametrize("chain", _CHAINS,
                         ids=[f"line{c[0]['line']}" for c in _CHAINS])
def test_snippet_runs(chain, started, tmp_path):
  run = started.get(id(chain)) or _Run(chain, tmp_path)
  run.check()
