"""`python -m wasmprof debug` through a real pseudo-terminal (pexpect): a
session that breaks, steps, prints, watches, reverse-steps and finishes,
and clear errors for bad commands."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from helpers.env import python_env
from helpers.paths import EXAMPLES

pexpect = pytest.importorskip("pexpect") if not os.environ.get("CI") else __import__("pexpect")
pytestmark = pytest.mark.timeout(120)
PROMPT = r"\(wdb\) "


def spawn(*args: str, cwd: Path = EXAMPLES) -> "pexpect.spawn":
    child = pexpect.spawn(sys.executable, ["-m", "wasmprof", "debug", *args], cwd=str(cwd), env=python_env(),
                          encoding="utf-8", timeout=30, dimensions=(40, 200))
    child.expect(PROMPT)
    return child


def send(child: "pexpect.spawn", line: str) -> str:
    child.sendline(line)
    child.expect(PROMPT)
    return child.before


def ticks(text: str) -> tuple:
    m = re.search(r"(\d+) ticks, (\d+) instructions", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def test_a_session_breaks_steps_prints_reverse_steps_and_finishes() -> None:
    child = spawn("fib.wasm", "--invoke", "fib", "--", "6")
    try:
        assert "Debugging fib.wasm: fib(6)" in child.before
        assert "Breakpoint 1 at" in send(child, "break fib if n == 3")
        out = send(child, "continue")
        assert "Breakpoint 1, fib (n=3)" in out
        out = send(child, "bt")
        assert out.count("fib (n=") == 4  # 3, 4, 5, 6
        assert "6\r\n" in send(child, "print n * 2")
        before = ticks(send(child, "ticks"))
        send(child, "stepi 3")
        assert ticks(send(child, "ticks"))[1] == before[1] + 3
        send(child, "reverse-stepi 3")
        assert ticks(send(child, "ticks")) == before
        out = send(child, "info breakpoints")
        assert "breakpoint 1" in out and "hit 1 time" in out
        assert "error: unknown command 'frobnicate'" in send(child, "frobnicate")
        assert "error:" in send(child, "frame 99")
        out = send(child, "finish")
        assert "fib (n=4)" in out
        send(child, "delete")
        out = send(child, "continue")
        assert "returned 8" in out
        out = send(child, "reverse-continue")
        assert "No more reverse-execution history" in out
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_watch_set_var_and_memory(tmp_path: Path) -> None:
    child = spawn("kernel.wasm", "--invoke", "run", "--", "20")
    try:
        assert "Watchpoint 1: memory[0x8:0xc]" in send(child, "watch 8")
        out = send(child, "continue")
        assert "Watchpoint 1" in out and "Old value = 0" in out and "New value = " in out
        new = int(out.split("New value = ")[1].split()[0])
        out = send(child, "x/4 0")
        assert f"{new:#010x}" in out
        send(child, "delete 1")
        send(child, "set var *8 = 7")
        assert "0x00000007" in send(child, "x/3 0")
        assert "state = " in send(child, "globals")
        assert "return" in send(child, "disas 40") or "=>" in send(child, "disas")
        out = send(child, "profile")
        assert "ticks from here to the end" in out and "quicksort" in out
        child.sendline("quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
