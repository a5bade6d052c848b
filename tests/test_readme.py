"""README.md's examples are true: every ```python block runs, in order, with its shown output.

Conventions (for everyone who adds a README section):

* Every ```python block is executed, top to bottom, in one namespace, as a reader pasting them
  into one session would: in a fresh temporary directory that is also the working directory,
  with ``REGISTRY_DIR`` pointing into it (so nothing touches ``~/.registry``) and
  ``REGISTRY_USER=testuser``. A block may rely on names defined by earlier blocks.
* Shown output is checked in one of two ways:
  - ``expression  # -> expected``: the statement ends with a comment starting ``# ->``; the
    ``repr`` of the expression's value must equal the text after the arrow (``...`` matches
    anything, as doctest's ELLIPSIS; whitespace runs compare equal). Plain ``#`` comments are
    explanations and are not checked.
  - doctest style: a block whose lines start with ``>>> `` runs as a doctest (same namespace).
* A ```python block preceded by the line ``<!-- readme-test: skip -->`` is not run (say in the
  prose why; for instance an example that needs a network).
* ```bash blocks are not run here, except those preceded by ``<!-- readme-test: run -->``:
  each line of those runs with ``bash -e`` in the same directory and must exit 0. The command
  line itself is covered by the CLI engineer's subprocess tests (tests/test_cli.py); installation
  commands (``pip install``) are never run by a test.
"""

from __future__ import annotations

import ast
import doctest
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
ARROW = re.compile(r"#\s*->\s?(.*)$")
FENCE = re.compile(r"^```(\w*)\s*$")
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass
class Block:
    lang: str
    code: str
    line: int  # 1-based line of the first code line in README.md
    marker: str | None  # "skip", "run" or None


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, with the ``readme-test`` marker before each."""
    out, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            prev = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            mk = re.match(r"<!--\s*readme-test:\s*(\w+)\s*-->", prev)
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            out.append(Block(m.group(1), "\n".join(lines[start:j]), start + 1, mk.group(1) if mk else None))
            i = j + 1
            continue
        i += 1
    return out


class ShownOutputMismatch(AssertionError):
    pass


def run_python(code: str, ns: dict, where: str) -> int:
    """Run a python block in ``ns``, checking ``# -> expected`` comments; returns how many were checked."""
    if any(line.startswith(">>> ") for line in code.splitlines()):
        test = doctest.DocTestParser().get_doctest(code, ns, where, where, 0)
        report: list[str] = []
        result = doctest.DocTestRunner(optionflags=FLAGS).run(test, out=report.append, clear_globs=False)
        ns.update(test.globs)
        if result.failed:
            raise ShownOutputMismatch("".join(report))
        return result.attempted
    lines = code.splitlines()
    checked = 0
    for node in ast.parse(code).body:
        src = ast.get_source_segment(code, node)
        last = lines[node.end_lineno - 1]
        m = ARROW.search(last)
        if m and isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), where, "eval"), ns)
            want, got = re.split(r"\s{2,}(?=\()", m.group(1).strip())[0], repr(value)
            if not CHECKER.check_output(want + "\n", got + "\n", FLAGS):
                raise ShownOutputMismatch(
                    f"{where}, line {node.lineno}: {src.strip()}\n  README shows: {want}\n  actual:       {got}"
                )
            checked += 1
        else:
            if m:
                raise ShownOutputMismatch(f"{where}, line {node.lineno}: '# ->' needs an expression, not {src!r}")
            exec(compile(ast.Module([node], type_ignores=[]), where, "exec"), ns)
    return checked


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A fresh directory as cwd, REGISTRY_DIR inside it, no default instance opened yet."""
    import registry as ln

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGISTRY_DIR", str(tmp_path / "default-instance"))
    monkeypatch.setenv("REGISTRY_USER", "testuser")
    monkeypatch.setattr(ln.settings, "_instance", None)
    return tmp_path


def test_every_python_block_of_the_readme_runs_with_its_shown_output(sandbox):
    ns: dict = {"__name__": "__readme__"}
    checked = 0
    for b in blocks(README.read_text()):
        where = f"README.md:{b.line}"
        if b.lang == "python" and b.marker != "skip":
            checked += run_python(b.code, ns, where)
        elif b.lang == "bash" and b.marker == "run":
            for cmd in b.code.splitlines():
                cmd = cmd.split(" #")[0].strip()
                if not cmd or cmd.startswith("pip "):
                    continue
                env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
                done = subprocess.run(["bash", "-ec", cmd], cwd=sandbox, env=env, capture_output=True, text=True)
                assert done.returncode == 0, f"{where}: `{cmd}` exited {done.returncode}:\n{done.stderr[-2000:]}"
    # the tour shows outputs; a README whose checks vanished would pass silently
    assert checked >= 10


# -- the runner itself ---------------------------------------------------------------------------
def test_blocks_reads_languages_lines_and_markers():
    text = "intro\n```python\nx = 1\n```\n<!-- readme-test: skip -->\n```python\nboom()\n```\n```\nplain\n```\n"
    found = blocks(text)
    assert [(b.lang, b.code, b.line, b.marker) for b in found] == [
        ("python", "x = 1", 3, None),
        ("python", "boom()", 7, "skip"),
    ]


def test_arrow_comments_are_checked_and_a_wrong_one_fails():
    ns: dict = {}
    assert run_python("x = [1, 2]\nlen(x)  # -> 2  (explained)\nx  # -> [1,  2]\n", ns, "t") == 2
    with pytest.raises(ShownOutputMismatch, match="README shows: 3"):
        run_python("len(x)  # -> 3", ns, "t")
    with pytest.raises(ShownOutputMismatch, match="needs an expression"):
        run_python("y = 1  # -> 1", ns, "t")


def test_doctest_blocks_share_the_namespace_and_fail_on_wrong_output():
    ns: dict = {"a": 2}
    assert run_python(">>> a + 1\n3\n>>> b = a * 5\n", ns, "t") == 2
    assert ns["b"] == 10
    with pytest.raises(ShownOutputMismatch):
        run_python(">>> a\n5\n", ns, "t")
