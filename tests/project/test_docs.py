"""The documentation site (docs/): it builds without a warning, its generated
pages hold what they should, and every example in the guides runs.

- The build is ``sphinx-build -W --keep-going -b html docs OUT`` (what
  README.md tells people to run), in a child process like a user's.
- Guides (docs/guides/*.md) are run as a reader would paste them, each in a
  fresh folder where ``examples/`` and ``bench/`` are the bundled ones:
  ``python`` blocks run in order in one namespace per guide; ``pycon`` blocks
  are doctests in the same namespace (their output must match, ``...``
  matching anything); ``console`` blocks run their ``$`` lines in one bash,
  in order, and each output shown under a command must match what it printed
  (stdout and stderr, ``...`` as above).  A command must exit 0 unless the
  next one is ``echo $?``, which then shows its status.
"""
from __future__ import annotations

import doctest
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

pytest.importorskip("sphinx", reason="the docs extra (pip install -e '.[docs]') is not installed")
pytest.importorskip("myst_parser", reason="the docs extra (pip install -e '.[docs]') is not installed")

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
DOCS = ROOT / "docs"
GUIDES = sorted((DOCS / "guides").glob("*.md"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs-html")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
                          cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"sphinx-build failed (warnings are errors):\n{proc.stderr}{proc.stdout}"
    assert proc.stderr.strip() == "", proc.stderr
    return out


def _text(page: Path) -> str:
    """A page's visible text, roughly (tags dropped, entities kept)."""
    return re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))


def _anchors(page: Path) -> set:
    return set(re.findall(r'id="([^"]+)"', page.read_text(encoding="utf-8")))


def test_docs_build_without_warnings(site: Path) -> None:
    for page in ["index.html", "cli.html", "api/wasmprof.html", "profile-model.html", "profiler.html",
                 *(f"guides/{g.stem}.html" for g in GUIDES)]:
        assert (site / page).is_file(), page


def test_api_reference_documents_every_export(site: Path) -> None:
    import wasmprof

    anchors = _anchors(site / "api" / "wasmprof.html")
    for name in wasmprof.__all__:
        obj = getattr(wasmprof, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):  # not the coredump subpackage nor type aliases
            assert f"wasmprof.{name}" in anchors, name
    assert "wasmprof.types.ExternType" in _anchors(site / "api" / "types.html")
    for member in ["Profile.save", "Profile.load", "Module.from_file", "Func.call", "Instance.exports", "Trap.kind"]:
        assert f"wasmprof.{member}" in anchors, member
    # The C extension's docstrings (csrc/py/) give its signatures.
    assert "Instance(module, imports=None, limits=None, *, wasi=None, coredump=None)" in _text(
        site / "api" / "wasmprof.html").replace("\n", "")
    assert "wasmprof.coredump.load" in _anchors(site / "api" / "coredump.html")
    assert "wasmprof.profiles.Node" in _anchors(site / "api" / "profiles.html")


def test_api_reference_covers_every_public_module(site: Path) -> None:
    """A module no page names (a new one) is documented on api/more."""
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import wasmprof_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    documented = set()
    for page in (site / "api").glob("*.html"):
        documented |= {a[len("module-"):] for a in _anchors(page) if a.startswith("module-")}
    for name in wasmprof_docs.public_modules():
        if name not in wasmprof_docs.COVERED:
            assert name in documented, name
    assert "wasmprof.spectest" in _anchors(site / "api" / "more.html") or "module-wasmprof.spectest" in _anchors(
        site / "api" / "more.html")


def test_render_page_lists_every_format(site: Path) -> None:
    from wasmprof.profiles import render

    anchors = _anchors(site / "api" / "render.html")
    for name, mod in render.FORMATS.items():
        assert f"{mod.__name__}.render" in anchors, name


def test_cli_reference_is_the_parser(site: Path) -> None:
    from wasmprof import cli

    text = _text(site / "cli.html")
    for cmd in cli.COMMANDS:
        assert cmd.name in text and cmd.help in text, cmd.name
    for option in ["--invoke", "--max-ticks", "--flamechart", "--dir", "--env", "--module"]:
        assert option in text, option


# ---- the guides' examples ------------------------------------------------------------------


def _blocks(path: Path) -> Iterator[Tuple[str, str, int]]:
    """(language, code, line number) of each fenced code block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(`{3,}|~{3,})\s*(\S*)", lines[i])
        if m:
            fence, lang, start = m.group(1), m.group(2), i + 1
            i += 1
            body: List[str] = []
            while i < len(lines) and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            yield lang, "\n".join(body) + "\n", start + 1
        i += 1


def _console(code: str) -> List[Tuple[str, str]]:
    """The ($ command, expected output) pairs of a console block."""
    pairs: List[Tuple[str, str]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:], ""))
        elif pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + line + "\n")
    return pairs


def _workdir(tmp_path: Path) -> Path:
    for name in ("examples", "bench"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _run_console(pairs: List[Tuple[str, str]], cwd: Path, where: str) -> None:
    # One bash for the block; each command's output and status between markers,
    # and $? restored before the next command (for `echo $?`).
    script = ["set +e", "__s=0"]
    for i, (cmd, _) in enumerate(pairs):
        script += [f"printf '\\n@@wasmprof-docs {i}@@\\n'; (exit $__s)", f"{cmd} 2>&1; __s=$?",
                   'echo "@@status $__s@@"']
    # `python` and `wasmprof` are this interpreter, as in the reader's environment.
    bin_dir = cwd / ".bin"
    bin_dir.mkdir(exist_ok=True)
    for name, line in (("python", f'exec "{sys.executable}" "$@"'),
                       ("wasmprof", f'exec "{sys.executable}" -m wasmprof "$@"')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{line}\n")
        (bin_dir / name).chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    outputs: Dict[int, Tuple[str, int]] = {}
    for m in re.finditer(r"\n@@wasmprof-docs (\d+)@@\n(.*?)@@status (\d+)@@", proc.stdout, re.S):
        outputs[int(m.group(1))] = (m.group(2), int(m.group(3)))
    checker = doctest.OutputChecker()
    for i, (cmd, expected) in enumerate(pairs):
        got, status = outputs[i]
        next_is_status = i + 1 < len(pairs) and pairs[i + 1][0].strip() == "echo $?"
        assert status == 0 or next_is_status, f"{where}: `{cmd}` exited {status}:\n{got}"
        if expected.strip():
            assert checker.check_output(expected, got, doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE), (
                f"{where}: `{cmd}` printed\n{got}\nthe guide shows\n{expected}")


@pytest.mark.parametrize("guide", GUIDES, ids=[g.stem for g in GUIDES])
def test_guide_examples_run(guide: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = _workdir(tmp_path)
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("WASMPROF_COREDUMP", raising=False)
    namespace: Dict[str, object] = {"__name__": "__guide__"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    ran = 0
    for lang, code, line in _blocks(guide):
        where = f"{guide.relative_to(ROOT)}:{line}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)
        elif lang == "pycon":
            test = parser.get_doctest(code, namespace, where, str(guide), line)
            result = runner.run(test, out=lambda s: pytest.fail(f"{where}: doctest failed:\n{s}"), clear_globs=False)
            assert result.failed == 0
            namespace.update(test.globs)  # a DocTest runs in a copy of the namespace
        elif lang == "console":
            _run_console(_console(code), cwd, where)
        else:
            continue
        ran += 1
    # The C guide shows examples/host.c itself, which `make check-c` builds and runs.
    assert ran > 0 or guide.name == "c-api.md", f"{guide.name} has no example to run"
