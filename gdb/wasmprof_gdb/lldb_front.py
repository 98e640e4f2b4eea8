"""LLDB front end: the same wasm-* commands as in GDB, over the same layers
(target.py's Target implemented with LLDB's SB API).  LLDB has no frame
filters, so `bt` stays native; wasm-bt shows the guest frames.

    (lldb) command script import /path/to/wasmprof/gdb/wasmprof_lldb.py
"""
from __future__ import annotations

import shutil
import subprocess
from typing import Optional

import lldb  # type: ignore[import-not-found]

from . import commands
from .model import CFrame, Process

MAX_C_FRAMES = 10_000


class LldbTarget:
    """Target (target.py) over the selected LLDB target and process."""

    def __init__(self, debugger) -> None:
        self.target = debugger.GetSelectedTarget()
        self.process = self.target.GetProcess()

    def read(self, addr: int, size: int) -> Optional[bytes]:
        err = lldb.SBError()
        data = self.process.ReadMemory(addr, size, err)
        if err.Success() and data is not None:
            return bytes(data)
        # A core file holds no read-only sections (the layout table, names):
        # read those from the binary that maps them.
        err = lldb.SBError()
        data = self.target.ReadMemory(self.target.ResolveLoadAddress(addr), size, err)
        return bytes(data) if err.Success() and data is not None and len(data) == size else None

    def symbol_address(self, name: str) -> Optional[int]:
        for ctx in self.target.FindSymbols(name):
            addr = ctx.GetSymbol().GetStartAddress().GetLoadAddress(self.target)
            if addr != lldb.LLDB_INVALID_ADDRESS:
                return addr
        return None

    def symbol_at(self, addr: int) -> Optional[str]:
        sym = self.target.ResolveLoadAddress(addr).GetSymbol()
        return sym.GetName() if sym.IsValid() else None

    def demangle(self, name: str) -> Optional[str]:
        """binutils' c++filt (libiberty, as the core's own demangler)."""
        tool = shutil.which("c++filt")
        if not tool:
            return None
        try:
            out = subprocess.run([tool, name], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out if out and out != name else None


_sessions: dict = {}


def session(debugger) -> commands.Session:
    t = LldbTarget(debugger)
    thread = t.process.GetSelectedThread()
    key = (t.process.GetProcessID(), t.process.GetStopID(), thread.GetThreadID() if thread.IsValid() else 0)
    if key not in _sessions:
        _sessions.clear()
        cframes = []
        for frame in thread if thread.IsValid() else []:
            if len(cframes) >= MAX_C_FRAMES:
                break
            name = frame.GetFunctionName() or (frame.GetSymbol().GetName() if frame.GetSymbol().IsValid() else None)
            cframes.append(CFrame(name, frame.GetSP()))
        _sessions[key] = commands.Session(Process(t), cframes, cframes[0].sp if cframes else None)
    return _sessions[key]


def _make(name: str):
    def command(debugger, arg, result, internal_dict) -> None:
        try:
            text = commands.run(session(debugger), name, arg)
        except Exception as e:  # a bug of ours: one line, never a traceback mid-session
            text = f"wasmprof: internal error in {name}: {type(e).__name__}: {e}"
        result.AppendMessage(text)

    command.__doc__ = commands.COMMANDS[name][1]
    return command


# One module-level function per command: LLDB's `command script add -f` names them.
for _name in commands.COMMANDS:
    globals()["cmd_" + _name.replace("-", "_")] = _make(_name)


def register(debugger, module_name: str) -> None:
    for name in commands.COMMANDS:
        debugger.HandleCommand(f"command script add -f {module_name}.cmd_{name.replace('-', '_')} {name}")
