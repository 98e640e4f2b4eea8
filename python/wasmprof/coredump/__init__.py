"""wasmprof.coredump: WebAssembly coredumps (tool-conventions Coredump.md).

reader.py parses them (ours and other engines') and decides where wasmprof
writes them; render.py turns one into text; cli.py is `python -m wasmprof
coredump ...`::

    dump = wasmprof.coredump.load("core.wasm", module=wasmprof.Module.from_file("k.wasm"))
    print(dump.render())
    dump.frames[0].locals, dump.memory.read(0x100, 16), dump.globals
"""
from .reader import (
    ENV_VAR,
    CoreInstance,
    Coredump,
    CoredumpError,
    Frame,
    GlobalValue,
    Memory,
    Thread,
    Value,
    load,
    parse,
    trap_path,
    write_last_trap,
)

__all__ = [
    "CoredumpError",
    "Coredump",
    "CoreInstance",
    "Frame",
    "GlobalValue",
    "Memory",
    "Thread",
    "Value",
    "load",
    "parse",
    "trap_path",
    "write_last_trap",
    "ENV_VAR",
]
