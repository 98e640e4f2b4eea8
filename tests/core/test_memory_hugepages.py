"""Linear memories ask the kernel for transparent huge pages (csrc/runtime/memory.c:
fewer TLB misses for guests that index memory at random), unless
WASMPROF_NO_HUGEPAGES=1.  The advice shows in /proc/self/smaps as the "hg"
VmFlag of the memory's mapping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.env import python_env
from helpers.paths import TESTS

pytestmark = pytest.mark.skipif(not Path("/sys/kernel/mm/transparent_hugepage").is_dir(),
                                reason="the kernel has no transparent huge pages")

# Prints the VmFlags of the mapping holding an instance's memory.
CHILD = r"""
import ctypes, wasmprof
from helpers.wasm import wat2wasm
inst = wasmprof.Instance(wasmprof.Module(wat2wasm('(module (memory (export "m") 64))')))
addr = ctypes.addressof(ctypes.c_char.from_buffer(inst.exports["m"].data))
lines = open("/proc/self/smaps").read().splitlines()
current = None
for line in lines:
    head = line.split()[0]
    if "-" in head and all(c in "0123456789abcdef-" for c in head):
        lo, hi = (int(x, 16) for x in head.split("-"))
        current = lo <= addr < hi
    elif line.startswith("VmFlags:") and current:
        print(line.split(":", 1)[1].strip())
"""


def vm_flags(env_extra: dict) -> list:
    env = python_env()
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    [flags] = out.stdout.splitlines()
    return flags.split()


def test_memory_is_advised_to_use_huge_pages():
    assert "hg" in vm_flags({})


def test_the_advice_can_be_turned_off():
    assert "hg" not in vm_flags({"WASMPROF_NO_HUGEPAGES": "1"})
