"""wasmprof: a WebAssembly 2.0 interpreter with an exact profiler.

Quick start::

    import wasmprof
    module = wasmprof.Module.from_file("examples/fib.wasm")
    instance = wasmprof.Instance(module)
    print(instance.exports.fib(25))   # 75025
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from ._core import (
    backtrace,
    DecodeError,
    Error,
    Exports,
    Func,
    Global,
    Instance,
    LimitError,
    LinkError,
    Memory,
    Module,
    Table,
    Trap,
    ValidationError,
)
from .backtraces import Frame, SourceLocation
from .profiles import Profile, ProfileDiff, profile
from .profiles.many import ManyProfile, RunInput, profile_many  # many inputs, in parallel, merged exactly
from .profiles.session import ProfilingSession, profiling  # sessions on live instances
from .jupyter import load_ipython_extension  # %load_ext wasmprof
from ._core import Exit  # WASI proc_exit
from .wasi import Wasi, run
from ._core import interrupt
from .limits import Limits
from .native_imports import NativeLibrary, NativeSymbol, native, native_library
from .types import (
    ExportType,
    ExternType,
    FuncType,
    GlobalType,
    ImportType,
    MemoryType,
    TableType,
)
from . import coredump  # wasmprof.coredump.load(...): reading WebAssembly coredumps
from .debugger import Debugger, Stop  # stepping, breakpoints, watchpoints, reverse execution

__version__ = "0.1.0"

__all__ = [
    "Debugger",
    "DecodeError",
    "Error",
    "Exports",
    "ExportType",
    "Exit",
    "ExternType",
    "Frame",
    "Func",
    "FuncType",
    "Global",
    "GlobalType",
    "ImportType",
    "Instance",
    "LimitError",
    "Limits",
    "LinkError",
    "Memory",
    "MemoryType",
    "Profile",
    "ProfileDiff",
    "Module",
    "SourceLocation",
    "Stop",
    "NativeLibrary",
    "NativeSymbol",
    "Table",
    "TableType",
    "Trap",
    "ValidationError",
    "backtrace",
    "coredump",
    "Wasi",
    "func",
    "run",
    "interrupt",
    "native",
    "native_library",
    "profile",
    "profile_many", "ManyProfile", "RunInput",
    "profiling", "ProfilingSession",
    "load_ipython_extension",
]


def func(params: Iterable[str] = (), results: Iterable[str] = ()) -> Callable[[Callable[..., Any]], Func]:
    """Decorator factory: turn a Python function into a host :class:`Func`.

    ::

        @wasmprof.func(params=["i32", "i32"], results=["i32"])
        def add(a, b):
            return a + b
    """
    params = tuple(params)
    results = tuple(results)

    def wrap(fn: Callable[..., Any]) -> Func:
        return Func(fn, params, results)

    return wrap
