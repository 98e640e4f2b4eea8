"""Differential tests of WASI preview1: C programs (clang + wasi-libc) and
Rust programs (rustc, wasm32-wasi) from tests/wasi_programs/ run under
wasmtime (the reference) and under wasmprof with the same arguments,
environment, stdin and preopened directory; exit status, stdout, stderr
and the files left behind must be byte-identical, and nothing outside the
preopened directory may change."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers.wasi_support import Case, Toolchains, all_programs, assert_same, run_both

STDIN = b"first line\nsecond, longer line\n\n\xff\xfe binary-ish\nlast without newline"
INPUT = (("input.txt", b"alpha\nbeta\ngamma\n"),)

CASES = [
    Case("stdio.c", stdin=STDIN),
    Case("stdio.c", stdin=b""),
    Case("files.c", files=INPUT),
    Case("more_fs.c"),
    Case("dirlist.c", files=INPUT + (("docs/readme.md", b"# hi\n"), ("docs/sub/x.bin", b"\0\1\2"))),
    Case("args_env.c", args=("one", "two words", ""), env=(("HOME", "/home/guest"), ("LANG", "C"), ("EMPTY", ""))),
    Case("args_env.c"),
    Case("args_env.c", args=("a", "b", "c", "d")),
    Case("clocks_random.c"),
    Case("exit_code.c", args=("0",)),
    Case("exit_code.c", args=("3",)),
    Case("exit_code.c", args=("42", "exit")),
    Case("exit_code.c", args=("125", "_Exit")),
    Case("exit_code.c", args=("1", "exit")),
    Case("stdio_moves.c", stdin=b"unread\n"),
    Case(
        "sandbox.c",
        files=(("inside.txt", b"inside\n"), ("sub/keep.txt", b"keep\n")),
        links=(
            ("escape", "../outsidedir"),
            ("abs_link", "/etc/passwd"),
            ("rel_link", "../outside.txt"),
            ("loop", "loop"),
            ("dotdot_link", ".."),
            ("inner_link", "inside.txt"),
        ),
    ),
    Case(
        "trailing_slash.c",
        files=(("inside.txt", b"inside\n"), ("sub/keep.txt", b"keep\n")),
        links=(
            ("escape", "../outsidedir"),
            ("empty_escape", "../made_outside"),
            ("abs_dir", "/etc"),
            ("chain", "escape"),
            ("inner_dir", "sub"),
            ("file_link", "inside.txt"),
            ("dangling", "nothere"),
        ),
    ),
    Case("rs_stdio_args.rs", args=("x", "y z"), env=(("B", "2"), ("A", "1")), stdin=b"abc\nhello world\n"),
    Case("rs_stdio_args.rs", env=(("EXIT_CODE", "9"),), stdin=b"only line"),
    Case("rs_files.rs", files=(("keep.txt", b"kept\n"),)),
    Case("rs_time_random.rs"),
]


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> Toolchains:
    return Toolchains.shared(tmp_path_factory)


def test_every_program_has_a_case():
    assert sorted({c.program for c in CASES}) == list(all_programs())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_as_wasmtime(tools: Toolchains, case: Case, tmp_path: Path):
    ref, got = run_both(tools, case, tmp_path)
    assert_same(ref, got)


PATH_CASES = [c for c in CASES if c.program in ("sandbox.c", "trailing_slash.c", "files.c", "more_fs.c", "dirlist.c", "rs_files.rs")]


@pytest.mark.parametrize("case", PATH_CASES, ids=[c.id for c in PATH_CASES])
def test_same_as_wasmtime_with_portable_walk(tools: Toolchains, case: Case, tmp_path: Path, monkeypatch):
    """The same programs with path resolution by the component walk instead of openat2."""
    monkeypatch.setenv("WASMPROF_WASI_NO_OPENAT2", "1")
    ref, got = run_both(tools, case, tmp_path)
    assert_same(ref, got)
