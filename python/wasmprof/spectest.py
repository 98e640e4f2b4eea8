"""Run WebAssembly spec test scripts converted by wabt's ``wast2json``.

Usage::

    python -m wasmprof.spectest [-v] [-j N] [--loop LOOP] PATH...

PATH is a ``.json`` script (its ``.wasm`` modules next to it) or a
directory searched recursively for scripts.  For each file one line
``path: P passed, F failed, S skipped`` is printed (with ``-v`` each failure
follows it), and the last line is ``N passed, N failed, N skipped`` over all
files.  Only ``assert_*`` commands are counted.  Exit status 1 if anything
failed.  With ``-j N`` each file runs in its own subprocess (N at a time), so
a crash in one file is reported as that file's failure instead of ending
the run.

``--loop`` chooses the interpreter loop that runs each invoked function:
``plain`` (the default), ``counted`` (the ticked loop, under a tick limit
too high to reach), ``stepping`` (the debugger's loop, continued to the
end) or ``single-step`` (the debugger's loop, stopping after every
instruction).  Functions run at instantiation (``start``) and host
functions run as they always do.

From Python, :func:`run_file` returns ``(passed, failed, skipped, failures)``.

Conventions: arguments and results use the exact-bits path
(``Func.call_bits``); ``nan:canonical`` matches a canonical NaN of either
sign, ``nan:arithmetic`` any NaN with the quiet bit set; an externref
``N`` is the Python int ``N`` passed as an externref.  Text modules of
``assert_malformed`` are skipped.  An assertion whose module failed to load
counts as failed; an unexpected exception inside a command counts as a
failure of that command and the file goes on.
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type

from . import _core
from ._core import (
    DecodeError,
    Exports,
    Func,
    Global,
    Instance,
    LinkError,
    Memory,
    Module,
    Table,
    Trap,
    ValidationError,
    extern_from_bits,
    extern_to_bits,
)

__all__ = ["run_file", "run_file_result", "FileResult", "spectest_imports", "main", "LOOPS"]

LOOPS = ("plain", "counted", "stepping", "single-step")
COUNTED_BUDGET = 1 << 62  # a tick limit no script reaches: it only selects the ticked loop

F32_SIGN = 0x80000000
F64_SIGN = 0x8000000000000000
F32_CANONICAL = 0x7FC00000
F64_CANONICAL = 0x7FF8000000000000


# ---- the spectest host module ---------------------------------------------------------


def _noop(*args: Any) -> None:
    return None


def spectest_imports() -> Dict[str, object]:
    """A fresh set of the ``spectest`` host module's objects."""
    funcs: Dict[str, List[str]] = {
        "print": [],
        "print_i32": ["i32"],
        "print_i64": ["i64"],
        "print_f32": ["f32"],
        "print_f64": ["f64"],
        "print_i32_f32": ["i32", "f32"],
        "print_f64_f64": ["f64", "f64"],
    }
    ns: Dict[str, object] = {name: Func(_noop, params, []) for name, params in funcs.items()}
    ns["global_i32"] = Global("i32", 666)
    ns["global_i64"] = Global("i64", 666)
    ns["global_f32"] = Global("f32", 666.6)
    ns["global_f64"] = Global("f64", 666.6)
    ns["table"] = Table("funcref", 10, 20)
    ns["memory"] = Memory(1, 2)
    return ns


# ---- results ----------------------------------------------------------------------------


@dataclass
class FileResult:
    """The outcome of one script: counts, failure descriptions and notes
    (problems outside assertions: a module that failed to load, an action
    that raised).  A note is a failure too: a wrongly rejected module that
    no assertion uses would otherwise go unnoticed."""

    path: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def as_tuple(self) -> Tuple[int, int, int, List[str]]:
        return self.passed, self.failed, self.skipped, self.failures

    def note(self, message: str) -> None:
        """Record a problem outside the assertions, counted as a failure."""
        self.notes.append(message)
        self.failed += 1
        self.failures.append(f"{message} (outside assertions)")


class _Failed(Exception):
    """An assertion did not hold; the message says why."""


class _Skip(Exception):
    """The command is not supported here (counted as skipped)."""


# ---- values -------------------------------------------------------------------------------


def _width(t: str) -> int:
    return 32 if t in ("i32", "f32") else 64


def _arg_bits(arg: Mapping[str, Any]) -> int:
    t: str = arg["type"]
    v: Any = arg.get("value")
    if t in ("i32", "i64", "f32", "f64"):
        return int(v) & ((1 << _width(t)) - 1)
    if t == "externref":
        return 0 if v == "null" else extern_to_bits(int(v))
    if t == "funcref":
        if v == "null":
            return 0
        raise _Skip("funcref arguments other than null are not supported")
    raise _Failed(f"{t} values are not supported")


def _fmt_bits(t: str, bits: int) -> str:
    if t in ("i32", "i64"):
        return f"{t}:{bits}"
    if t == "f32":
        return f"f32:0x{bits:08x}({struct.unpack('<f', struct.pack('<I', bits & 0xFFFFFFFF))[0]!r})"
    if t == "f64":
        return f"f64:0x{bits:016x}({struct.unpack('<d', struct.pack('<Q', bits & ((1 << 64) - 1)))[0]!r})"
    if t == "externref":
        if bits == 0:
            return "ref.null extern"
        try:
            return f"ref.extern {extern_from_bits(bits)!r}"
        except Exception:
            return f"externref:0x{bits:x}"
    if t == "funcref":
        return "ref.null func" if bits == 0 else "ref.func"
    return f"{t}:0x{bits:x}"


def _fmt_expected(e: Mapping[str, Any]) -> str:
    t: str = e["type"]
    v: Any = e.get("value")
    if v is None:
        return t
    if isinstance(v, list):
        return f"{t}:{e.get('lane_type', '?')}[{' '.join(map(str, v))}]"
    if isinstance(v, str) and v.startswith("nan:"):
        return f"{t}:{v}"
    if t in ("i32", "i64", "f32", "f64"):
        return _fmt_bits(t, int(v))
    if t in ("externref", "funcref"):
        return f"ref.null {t[:-3]}" if v == "null" else f"ref.{t[:-3]} {v}"
    return f"{t}:{v}"


def _match(e: Mapping[str, Any], bits: int) -> bool:
    t: str = e["type"]
    v: Any = e.get("value")
    if t in ("i32", "i64"):
        return bits == int(v) & ((1 << _width(t)) - 1)
    if t == "f32":
        if v == "nan:canonical":
            return bits & ~F32_SIGN & 0xFFFFFFFF == F32_CANONICAL
        if v == "nan:arithmetic":
            return bits & F32_CANONICAL == F32_CANONICAL
        return bits == int(v) & 0xFFFFFFFF
    if t == "f64":
        if v == "nan:canonical":
            return bits & ~F64_SIGN & ((1 << 64) - 1) == F64_CANONICAL
        if v == "nan:arithmetic":
            return bits & F64_CANONICAL == F64_CANONICAL
        return bits == int(v) & ((1 << 64) - 1)
    if t == "externref":
        if v is None:
            return bits != 0
        if v == "null":
            return bits == 0
        return bits != 0 and extern_from_bits(bits) == int(v)
    if t == "funcref":
        if v == "null":
            return bits == 0
        return bits != 0
    raise _Failed(f"{t} values are not supported")


# ---- the runner ----------------------------------------------------------------------------


class _Script:
    """The state of one script: named and current instances, registrations."""

    def __init__(self, path: str, loop: str = "plain") -> None:
        if loop not in LOOPS:
            raise ValueError(f"unknown loop {loop!r}: expected one of {', '.join(LOOPS)}")
        self.path = path
        self.loop = loop
        self.sessions: Dict[Instance, Any] = {}  # a debug session per instance
        self.dir = os.path.dirname(os.path.abspath(path))
        self.spectest = spectest_imports()
        self.registered: Dict[str, Exports] = {}
        self.named: Dict[str, Optional[Instance]] = {}
        self.errors: Dict[str, str] = {}  # module name -> why it failed to load
        self.current: Optional[Instance] = None
        self.current_error: Optional[str] = "no module loaded yet"

    # -- modules

    def imports(self) -> Dict[str, Any]:
        ns: Dict[str, Any] = {"spectest": self.spectest}
        ns.update(self.registered)
        return ns

    def load(self, filename: str) -> Module:
        with open(os.path.join(self.dir, filename), "rb") as f:
            data = f.read()
        return Module(data)

    def instantiate(self, filename: str) -> Instance:
        return Instance(self.load(filename), self.imports())

    def instance(self, name: Optional[str]) -> Instance:
        if name is None:
            if self.current is None:
                raise _Failed(f"module failed to load: {self.current_error}")
            return self.current
        if name not in self.named:
            raise _Failed(f"unknown module {name}")
        inst = self.named[name]
        if inst is None:
            raise _Failed(f"module {name} failed to load: {self.errors.get(name)}")
        return inst

    # -- actions

    def action(self, a: Mapping[str, Any]) -> Tuple[int, ...]:
        inst = self.instance(a.get("module"))
        fieldname = a["field"]
        try:
            obj = inst.exports[fieldname]
        except KeyError:
            raise _Failed(f"no export {fieldname!r}") from None
        if a["type"] == "invoke":
            if not isinstance(obj, Func):
                raise _Failed(f"export {fieldname!r} is not a function")
            return self.call(obj, [_arg_bits(x) for x in a.get("args", [])])
        if a["type"] == "get":
            if not isinstance(obj, Global):
                raise _Failed(f"export {fieldname!r} is not a global")
            return (obj.bits,)
        raise _Skip(f"unknown action type {a['type']!r}")

    def call(self, f: Func, args: List[int]) -> Tuple[int, ...]:
        """Call f with raw bits in the script's loop."""
        if self.loop == "counted":
            return tuple(f.call_bits(*args, max_ticks=COUNTED_BUDGET))
        inst = f.instance
        if self.loop == "plain" or inst is None:  # a host function runs no loop
            return tuple(f.call_bits(*args))
        if inst not in self.sessions:
            self.sessions[inst] = _core.DebugSession(inst, 0, 0, 0, False)
        session = self.sessions[inst]
        session.call(f, args, True)
        steps = 1 if self.loop == "single-step" else 0
        while True:
            reason = session.resume(steps=steps)
            if reason == "returned":
                return tuple(session.results(True))
            if reason == "error":
                raise session.error()
            if reason != "step":
                raise _Failed(f"the debugger stopped for {reason!r}")


def _describe_action(a: Mapping[str, Any]) -> str:
    mod = f"{a['module']}." if a.get("module") else ""
    if a.get("type") == "get":
        return f"get {mod}{a.get('field')!r}"
    args = ", ".join(_fmt_expected(x) for x in a.get("args", []))
    return f"invoke {mod}{a.get('field')!r}({args})"


def _describe(cmd: Mapping[str, Any]) -> str:
    t = cmd.get("type", "?")
    if "action" in cmd:
        return f"{t} {_describe_action(cmd['action'])}"
    if "filename" in cmd:
        return f"{t} {cmd['filename']}"
    return str(t)


def _trap_text_matches(text: Optional[str], trap: BaseException) -> bool:
    message = getattr(trap, "message", None)
    if not text or not message:
        return True
    return text.startswith(message) or message.startswith(text)


def _exc(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _check_results(cmd: Mapping[str, Any], got: Tuple[int, ...]) -> None:
    expected = cmd.get("expected", [])
    if len(got) != len(expected) or not all(_match(e, g) for e, g in zip(expected, got)):
        want = ", ".join(_fmt_expected(e) for e in expected)
        types = [e["type"] for e in expected] + ["?"] * max(0, len(got) - len(expected))
        have = ", ".join(_fmt_bits(t, g) for t, g in zip(types, got))
        raise _Failed(f"expected ({want}), got ({have})")


def _expect_trap(cmd: Mapping[str, Any], script: _Script, exhaustion: bool = False) -> None:
    text = cmd.get("text")
    try:
        if "action" in cmd:
            got = script.action(cmd["action"])
            raise _Failed(f"expected trap {text!r}, got results {got}")
        script.instantiate(cmd["filename"])
        raise _Failed(f"expected trap {text!r}, but the module instantiated")
    except Trap as e:
        if exhaustion:
            if getattr(e, "kind", None) != "stack_exhausted":
                raise _Failed(f"expected stack exhaustion, got trap {e}") from None
        elif not _trap_text_matches(text, e):
            raise _Failed(f"expected trap {text!r}, got trap {e}") from None


def _expect_module_error(
    cmd: Mapping[str, Any], script: _Script, cls: Type[BaseException], instantiate: bool
) -> None:
    text = cmd.get("text")
    try:
        if instantiate:
            script.instantiate(cmd["filename"])
        else:
            script.load(cmd["filename"])
    except cls:
        return
    except (DecodeError, ValidationError, LinkError, Trap) as e:
        raise _Failed(f"expected {cls.__name__} ({text!r}), got {_exc(e)}") from None
    raise _Failed(f"expected {cls.__name__} ({text!r}), but the module {'instantiated' if instantiate else 'loaded'}")


def _assertion(cmd: Mapping[str, Any], script: _Script) -> None:
    """Run one assert_* command; raises _Failed or _Skip, returns on success."""
    t = cmd["type"]
    if t == "assert_return":
        _check_results(cmd, script.action(cmd["action"]))
    elif t == "assert_trap":
        _expect_trap(cmd, script)
    elif t == "assert_exhaustion":
        _expect_trap(cmd, script, exhaustion=True)
    elif t in ("assert_invalid", "assert_malformed", "assert_unlinkable", "assert_uninstantiable"):
        if cmd.get("module_type", "binary") != "binary":
            raise _Skip("text module")
        if t == "assert_invalid":
            _expect_module_error(cmd, script, ValidationError, instantiate=False)
        elif t == "assert_malformed":
            _expect_module_error(cmd, script, DecodeError, instantiate=False)
        elif t == "assert_unlinkable":
            _expect_module_error(cmd, script, LinkError, instantiate=True)
        else:
            _expect_trap(cmd, script)
    else:
        raise _Skip(f"unknown command {t!r}")


def _command(cmd: Mapping[str, Any], script: _Script, result: FileResult) -> None:
    """Run one non-assertion command; problems become notes."""
    t = cmd["type"]
    line = cmd.get("line", "?")
    if t == "module":
        name = cmd.get("name")
        try:
            inst = script.instantiate(cmd["filename"])
        except Exception as e:  # noqa: BLE001 - any failure makes the module unavailable
            msg = _exc(e)
            script.current, script.current_error = None, f"{cmd['filename']}: {msg}"
            if name:
                script.named[name] = None
                script.errors[name] = script.current_error
            result.note(f"line {line}: module {cmd['filename']} failed to load: {msg}")
            return
        script.current, script.current_error = inst, None
        if name:
            script.named[name] = inst
    elif t == "register":
        try:
            inst = script.instance(cmd.get("name"))
        except _Failed as e:
            script.registered.pop(cmd["as"], None)
            result.note(f"line {line}: register {cmd['as']!r}: {e}")
            return
        script.registered[cmd["as"]] = inst.exports
    elif t == "action":
        try:
            script.action(cmd["action"])
        except Exception as e:  # noqa: BLE001
            msg = str(e) if isinstance(e, (_Failed, _Skip)) else _exc(e)
            result.note(f"line {line}: action {_describe_action(cmd['action'])} raised {msg}")
    else:
        result.note(f"line {line}: unknown command {t!r} ignored")


def _load_script(path: str) -> Dict[str, Any]:
    with open(path, "r", encoding="utf-8") as f:
        script = json.load(f)
    if not isinstance(script, dict) or not isinstance(script.get("commands"), list):
        raise ValueError(f"{path}: not a wast2json script (no 'commands' list)")
    return script


def run_file_result(path: str, loop: str = "plain") -> FileResult:
    """Run one wast2json script, its functions in ``loop`` (LOOPS), and return its FileResult."""
    result = FileResult(path)
    script = _Script(path, loop)
    commands = _load_script(path)["commands"]
    for cmd in commands:
        t = cmd.get("type", "")
        line = cmd.get("line", "?")
        if not t.startswith("assert_"):
            try:
                _command(cmd, script, result)
            except Exception as e:  # noqa: BLE001 - never abort the file
                result.note(f"line {line}: {t} raised {_exc(e)}")
            continue
        try:
            _assertion(cmd, script)
        except _Skip:
            result.skipped += 1
        except _Failed as e:
            result.failed += 1
            result.failures.append(f"line {line}: {_describe(cmd)}: {e}")
        except Exception as e:  # noqa: BLE001 - an unexpected error is a failure of this command
            result.failed += 1
            result.failures.append(f"line {line}: {_describe(cmd)}: unexpected {_exc(e)}")
        else:
            result.passed += 1
    return result


def run_file(path: str, loop: str = "plain") -> Tuple[int, int, int, List[str]]:
    """Run one wast2json script: (passed, failed, skipped, failure descriptions)."""
    return run_file_result(path, loop).as_tuple()


# ---- running files in subprocesses ---------------------------------------------------------------


def _count_assertions(path: str) -> int:
    try:
        return sum(1 for c in _load_script(path)["commands"] if str(c.get("type", "")).startswith("assert_"))
    except Exception:  # noqa: BLE001
        return 1


def _run_isolated(path: str, loop: str) -> FileResult:
    proc = subprocess.run(
        [sys.executable, "-m", "wasmprof.spectest", "--json-result", "--loop", loop, path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        return FileResult(**data)
    except Exception:  # noqa: BLE001 - the subprocess died: count the whole file as failed
        n = _count_assertions(path)
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
        tail = proc.stderr.strip().splitlines()[-5:]
        msg = f"runner crashed ({how})" + (": " + " | ".join(tail) if tail else "")
        return FileResult(path, failed=n, failures=[msg] * min(n, 1), notes=[msg])


# ---- command line ------------------------------------------------------------------------------


def _expand(paths: Sequence[str]) -> Iterator[str]:
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".json") and name != "MANIFEST.json":
                        yield os.path.join(root, name)
        else:
            yield p


def _print_result(r: FileResult, verbose: bool) -> None:
    print(f"{r.path}: {r.passed} passed, {r.failed} failed, {r.skipped} skipped")
    if verbose:
        for n in r.notes:
            print(f"  note: {n}")
        for f in r.failures:
            print(f"  FAIL {f}")
    else:
        for n in r.notes:
            print(f"  note: {n}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wasmprof.spectest", description="Run wast2json spec test scripts."
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a .json script or a directory of them")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure")
    parser.add_argument(
        "-j", "--jobs", type=int, default=0, metavar="N", help="run each file in a subprocess, N at a time"
    )
    parser.add_argument("--loop", choices=LOOPS, default="plain", help="the interpreter loop to run functions in")
    parser.add_argument("--json-result", action="store_true", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)

    files = list(_expand(ns.paths))
    if ns.json_result:
        for path in files:
            r = run_file_result(path, ns.loop)
            print(json.dumps(r.__dict__))
        return 0

    results: List[FileResult]
    if ns.jobs > 0:
        with ThreadPoolExecutor(max_workers=ns.jobs) as pool:
            results = []
            for r in pool.map(lambda path: _run_isolated(path, ns.loop), files):
                _print_result(r, ns.verbose)
                results.append(r)
    else:
        results = []
        for path in files:
            try:
                r = run_file_result(path, ns.loop)
            except Exception as e:  # noqa: BLE001 - an unreadable script
                r = FileResult(path, failed=1, failures=[f"cannot run: {_exc(e)}"])
            _print_result(r, ns.verbose)
            results.append(r)
        sys.stdout.flush()

    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


def _main_guarded() -> int:
    try:
        return main()
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(_main_guarded())
