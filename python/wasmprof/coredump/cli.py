"""``python -m wasmprof coredump ...``: look at a WebAssembly coredump.

    coredump show CORE [--module K.wasm]
        the backtrace with each frame's locals and operand stack, then the
        memories and globals; names and source lines come from the module
    coredump mem CORE ADDR LEN [--memory N]
        a hexdump of LEN bytes at ADDR (decimal or 0x...) of memory N
        (default: memory 0 of the innermost frame's instance)
"""
from __future__ import annotations

import argparse

from .reader import load
from .render import hexdump


class CoredumpUsageError(Exception):
    """Raised for bad arguments; cli.py maps it to its UsageError (exit 2)."""


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="coredump_command", metavar="ACTION")
    sub.required = True
    show = sub.add_parser("show", help="print the backtrace, locals, stacks, memories and globals")
    show.add_argument("core", metavar="CORE", help="the coredump file")
    show.add_argument("--module", metavar="MODULE.wasm", help="the module that trapped, for names and source lines")
    mem = sub.add_parser("mem", help="hexdump a range of a memory")
    mem.add_argument("core", metavar="CORE", help="the coredump file")
    mem.add_argument("addr", metavar="ADDR", help="start address (decimal or 0x...)")
    mem.add_argument("length", metavar="LEN", help="number of bytes")
    mem.add_argument("--memory", type=int, metavar="N", help="memory index in the coredump")


def _int(text: str, what: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise CoredumpUsageError(f"{what} must be an integer, not {text!r}") from None
    if v < 0:
        raise CoredumpUsageError(f"{what} must not be negative")
    return v


def run(ns: argparse.Namespace) -> int:
    if ns.coredump_command == "show":
        dump = load(ns.core, module=ns.module)
        print(dump.render(), end="")
        return 0
    addr, length = _int(ns.addr, "ADDR"), _int(ns.length, "LEN")
    dump = load(ns.core)
    if ns.memory is not None:
        if not 0 <= ns.memory < len(dump.memories):
            raise CoredumpUsageError(f"no memory {ns.memory} (the coredump has {len(dump.memories)})")
        memory = dump.memories[ns.memory]
    else:
        memory = dump.memory
        if memory is None:
            raise CoredumpUsageError("the coredump has no memory")
    try:
        data = memory.read(addr, length)
    except IndexError as e:
        raise CoredumpUsageError(str(e)) from None
    print(hexdump(data, addr), end="")
    return 0
