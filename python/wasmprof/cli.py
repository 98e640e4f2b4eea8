"""The command line: ``python -m wasmprof SUBCOMMAND ...`` (also ``wasmprof``).

Subcommands:

    profile FILE.wasm [--invoke NAME] [-o OUT] [--top N] [--cost FILE] [--flamechart]
            [--max-depth N] [--time] [--format FMT] [ARGS...]
        Run under the profiler (wasmprof.profile) and write the profile
        (format from OUT's name, see Profile.save) and/or print the top
        functions.  A trap still writes the profile up to it (exit 1).
        ``--invoke`` repeated (``--invoke init --invoke "eval 5"``) and
        ``--setup NAME`` (called before profiling starts) profile a
        sequence of calls on one instance (profiles/call_sequence.py).


    run FILE.wasm [--invoke NAME] [--dir HOST[::GUEST]] [--env K[=V]] [-- ARGS...]
        Instantiate a module and call an exported function with ARGS
        (converted to its parameter types); print each result on its own
        line.  Without --invoke, call ``_start`` (a module exporting other
        functions but no ``_start`` is a usage error that lists them; one
        exporting none is only instantiated, running its start function).  A module importing WASI
        preview1 gets it (wasmprof.Wasi): for a command (``_start``) ARGS are
        the program's arguments, --dir preopens directories and --env sets
        the environment; the guest's exit status becomes ours.

    coredump show CORE [--module K.wasm] | coredump mem CORE ADDR LEN
        Read a WebAssembly coredump (see coredump/cli.py).

    profile-many FILE.wasm --inputs DIR_OR_FILE [--workers N | --dask ADDRESS | --ray] [-o OUT] [--per-input CSV]
        Profile one run per input in parallel and merge the profiles
        exactly (see profiles/many_cli.py).

    debug FILE.wasm [--invoke NAME] [-- ARGS...]
        The interactive debugger (see debug_cli.py).

Each subcommand is a ``_Command``: a name, a function that adds its
arguments to an argparse subparser, and a function that runs it and
returns the exit status.  To add one (``profile``, ``coredump``, ...),
append it to ``COMMANDS``.

Exit status: 0 on success, 1 when the module fails (decode, validation,
link error, trap), 2 for usage errors (bad arguments, unknown export).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ._core import DecodeError, Error, Exit, Func, Instance, LinkError, Module, Trap, ValidationError
from .invoke import NothingToCall, entry_point, exported_functions
from .wasi import WASI_MODULE, Wasi

PROG = "wasmprof"


class UsageError(Exception):
    """A problem with the command line (exit status 2)."""


@dataclass(frozen=True)
class _Command:
    """A subcommand.  configure() may set the default ``_extra_args=True``
    to receive positional arguments that argparse leaves over (argparse
    cannot take positionals both before and after an option: in
    ``run FILE --invoke NAME 1 2`` the 1 2 come back as extras) in
    ``args``."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ---- value parsing and printing ----------------------------------------------------


INT_BITS = {"i32": 32, "i64": 64}


def parse_value(text: str, valtype: str) -> Any:
    """Convert a command-line argument to a value of a wasm value type
    (integers signed or unsigned, in any base Python's int() reads)."""
    try:
        if valtype in INT_BITS:
            value = int(text, 0)
            bits = INT_BITS[valtype]
            if not -(1 << (bits - 1)) <= value < (1 << bits):
                raise UsageError(f"{text} is out of range for {valtype} "
                                 f"({-(1 << (bits - 1))} to {(1 << bits) - 1})")
            return value
        if valtype in ("f32", "f64"):
            try:
                return float(text)
            except ValueError:
                return float.fromhex(text)
    except ValueError:
        raise UsageError(f"cannot parse {text!r} as {valtype}") from None
    if valtype in ("funcref", "externref"):
        if text == "null":
            return None
        if valtype == "externref":
            return text
        raise UsageError("a funcref argument can only be null")
    raise UsageError(f"{valtype} arguments are not supported")


def format_value(value: Any) -> str:
    """Format one result for printing."""
    if value is None:
        return "null"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan" if math.copysign(1.0, value) > 0 else "-nan"
        return repr(value)
    if isinstance(value, Func):
        return repr(value)
    return str(value)


def _results(value: Any, nresults: int) -> List[Any]:
    if nresults == 0:
        return []
    if nresults == 1:
        return [value]
    return list(value)


# ---- run ---------------------------------------------------------------------------


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.wasm", help="the module to run (no imports, or WASI preview1 ones)")
    p.add_argument("--invoke", metavar="NAME", help="the exported function to call (default: _start if exported)")
    _add_wasi_options(p)
    p.add_argument("args", nargs="*", metavar="ARGS", help="arguments of the call, or of the WASI program")
    p.set_defaults(_extra_args=True)


def _add_wasi_options(p: argparse.ArgumentParser) -> None:
    """--dir and --env, read by _wasi_for (run and profile)."""
    p.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                   help="WASI: preopen directory HOST, seen by the guest as GUEST (default: HOST)")
    p.add_argument("--env", action="append", default=[], metavar="K[=V]",
                   help="WASI: set environment variable K (without =V: our own value of K)")


def _load(path: str) -> Module:
    try:
        return Module.from_file(path)
    except OSError as e:
        raise Error(f"cannot read {path}: {e.strerror or e}") from None


def _wasi_for(ns: argparse.Namespace, module: Module) -> Optional[Wasi]:
    """A WASI environment from --dir/--env and the program's arguments, when the module imports WASI."""
    if not any(imp.module == WASI_MODULE for imp in module.imports):
        if ns.dir or ns.env:
            raise UsageError("--dir and --env need a module that imports WASI (wasi_snapshot_preview1)")
        return None
    preopens = []
    for spec in ns.dir:
        host, sep, guest = spec.partition("::")
        preopens.append((host, guest if sep else host))
    env = []
    for spec in ns.env:
        key, sep, value = spec.partition("=")
        if not sep:
            if key not in os.environ:
                continue
            value = os.environ[key]
        env.append(f"{key}={value}")
    program_args = [] if ns.invoke else list(ns.args)
    try:
        return Wasi(args=[os.path.basename(ns.file), *program_args], env=env, preopens=preopens)
    except OSError as e:
        raise UsageError(str(e)) from None


def _call_plan(ns: argparse.Namespace, module: Module, wasi: Optional[Wasi]) -> Tuple[Optional[str], List[Any]]:
    """The export to call and its argument values, checked before anything
    runs: a WASI program run as a command takes ARGS as its own arguments."""
    try:
        name = entry_point(module, ns.invoke, how="--invoke NAME")
    except NothingToCall as e:
        raise UsageError(str(e)) from None
    args: Sequence[str] = [] if wasi is not None and not ns.invoke else ns.args
    if name is None:
        if args:
            raise UsageError("arguments given, but the module exports no function to call them with")
        return None, []
    params = exported_functions(module)[name].params
    if len(args) != len(params):
        raise UsageError(f"{name} takes {len(params)} argument{'s' if len(params) != 1 else ''} "
                         f"{exported_functions(module)[name]}, got {len(args)}")
    return name, [parse_value(a, t) for a, t in zip(args, params)]


def _run(ns: argparse.Namespace) -> int:
    module = _load(ns.file)
    wasi = _wasi_for(ns, module)
    name, values = _call_plan(ns, module, wasi)
    try:
        instance = Instance(module, wasi=wasi)
    except LinkError as e:
        raise LinkError(f"{e} (run supports modules without imports or with WASI preview1 imports)") from None
    except Exit as e:
        return int(e.code)
    if name is None:
        return 0
    func = instance.exports[name]
    try:
        result = func(*values)
    except Exit as e:
        return int(e.code)
    for v in _results(result, len(func.type.results)):
        print(format_value(v))
    return 0


# ---- profile (the profiler lives in profiles/profiler.py) ---------------------------


def _configure_profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.wasm", help="the module to profile")
    p.add_argument("--invoke", metavar="NAME", action="append",
                   help="the exported function to call (default: _start if exported); repeat it to profile a "
                        "sequence of calls on one instance, each its own subtree (\"NAME ARG...\" gives a call's "
                        "arguments; ARGS go to the last call)")
    p.add_argument("--setup", metavar="NAME", action="append", default=[],
                   help="call this export (\"NAME ARG...\") before profiling starts, e.g. a reactor's init; "
                        "repeatable (a reactor's _initialize is called first by itself)")
    p.add_argument("-o", "--output", metavar="PATH", help="write the profile here (format from the name or --format)")
    p.add_argument("--format", metavar="FMT", help="output format (see Profile.save)")
    p.add_argument("--cost", metavar="FILE", help="cost table: JSON or TOML of instruction name -> ticks")
    p.add_argument("--flamechart", action="store_true", help="record the call/return events (flamechart order)")
    p.add_argument("--max-events", type=int, default=1_000_000, metavar="N", help="flamechart events kept at most")
    p.add_argument("--sample-every", type=int, metavar="N", help="sample the flamechart every N ticks")
    p.add_argument("--max-depth", type=int, metavar="N", help="fold calls deeper than N into the node at depth N")
    p.add_argument("--max-ticks", type=int, metavar="N", help="stop the guest after N ticks (LimitError)")
    p.add_argument("--time", action="store_true", help="also measure wall-clock time per node")
    p.add_argument("--top", type=int, metavar="N", help="print the N functions with the most self ticks")
    p.add_argument("--lines", type=int, nargs="?", const=20, metavar="N",
                   help="print the N source lines with the most ticks (default 20; needs DWARF, -g); with -o, "
                        "also write OUTPUT.lines.html, the annotated source, when the source files are readable")
    p.add_argument("--source-dir", action="append", default=[], metavar="DIR",
                   help="look for source files here too (repeatable), for the annotated source")
    _add_wasi_options(p)
    p.add_argument("args", nargs="*", metavar="ARGS", help="arguments of the call, or of the WASI program")
    p.set_defaults(_extra_args=True)


def _print_lines(prof: Any, n: int) -> None:
    if not prof.has_offsets:
        print(f"{PROG}: this profile has no per-instruction counts", file=sys.stderr)
        return
    total = max(prof.total_ticks, 1)
    print(f"{'ticks':>14} {'%':>7} {'calls':>10}  line")
    for r in prof.lines()[:n]:
        where = f"{r.file}:{r.line}" if r.file is not None else "(no source line)"
        inl = f" (inlined into {r.inlined_into})" if r.function and r.inlined_into and r.function != r.inlined_into \
            else ""
        print(f"{r.ticks:>14,} {100.0 * r.ticks / total:>6.2f}% {r.calls:>10,}  {where}  {r.function or ''}{inl}")
    if not prof.has_lines:
        print(f"{PROG}: the module has no DWARF line tables (build with -g); per-instruction ticks are in "
              f"Profile.offsets()", file=sys.stderr)


def _write_annotated_source(prof: Any, output: str, source_dirs: List[str]) -> None:
    """OUTPUT.lines.html beside the profile, when at least one source file is readable."""
    from .profiles.render import source_lines

    if not prof.has_lines:
        return
    files = {r.file for r in prof.lines() if r.file is not None}
    if not any(source_lines.find_source(f, source_dirs) for f in files):
        print(f"{PROG}: no source file of the profile is readable here (--source-dir DIR): no annotated source",
              file=sys.stderr)
        return
    base = output[:-len(".lines.html")] if output.endswith(".lines.html") else os.path.splitext(output)[0]
    if base.endswith(".pb"):
        base = base[:-3]
    path = base + ".lines.html"
    if os.path.abspath(path) == os.path.abspath(output):
        return
    try:
        prof.save(path, "lines-html", source_dirs=source_dirs)
    except OSError as e:
        raise Error(f"cannot write {path}: {e.strerror or e}") from None
    print(f"{PROG}: wrote {path}", file=sys.stderr)


def _print_top(prof: Any, n: int) -> None:
    total = max(prof.total_ticks, 1)
    print(f"{'self ticks':>14} {'self %':>7} {'total ticks':>14} {'calls':>10}  function")
    for f in prof.top(n):
        print(f"{f.self_ticks:>14,} {100.0 * f.self_ticks / total:>6.2f}% {f.total_ticks:>14,} {f.calls:>10,}  "
              f"{f.name}{' [host]' if f.host else ''}")
    print(f"{prof.total_ticks:>14,} total ticks ({prof.cost_model})")


def _output_format(ns: argparse.Namespace) -> Optional[str]:
    """The format -o and --format ask for, checked before the guest runs."""
    from .profiles import render

    if ns.output is None:
        if ns.format:
            raise UsageError("--format needs -o PATH")
        return None
    directory = os.path.dirname(os.path.abspath(ns.output))
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {ns.output}: no directory {directory}")
    try:
        return str((render.get(ns.format) if ns.format else render.for_path(ns.output)).NAME)
    except ValueError as e:
        raise UsageError(str(e).replace("pass format=", "pass --format")) from None


def _profile(ns: argparse.Namespace) -> int:
    from .profiles.profiler import TerminalProgress, load_cost_table, profile

    invokes = ns.invoke or []
    module = _load(ns.file)
    if len(invokes) > 1 or ns.setup:
        from .profiles.call_sequence import CallSequenceError, plan_calls, profile_calls

        ns.invoke = invokes[-1] if invokes else None  # ARGS and WASI's argv as for one call
        wasi = _wasi_for(ns, module)
        out_format = _output_format(ns)
        if ns.max_ticks is not None:
            raise UsageError("--max-ticks profiles one call; leave it out with --setup or several --invoke")
        try:
            load_cost_table(ns.cost)
            # ARGS: the last call's values, or a WASI command's own arguments (in its argv already)
            extra = list(ns.args) if invokes or wasi is None else []
            setup, calls = plan_calls(module, ns.setup, invokes, extra)
            prof = profile_calls(module, setup, calls, wasi=wasi, cost=ns.cost, time=ns.time,
                                 flamechart=ns.flamechart, max_events=ns.max_events, sample_every=ns.sample_every,
                                 max_depth=ns.max_depth)
        except CallSequenceError as e:
            raise UsageError(str(e)) from None
        except (ValueError, OSError) as e:
            raise UsageError(str(e)) from None
        interrupted = False
    else:
        ns.invoke = invokes[0] if invokes else None
        wasi = _wasi_for(ns, module)  # a WASI program run as a command takes ARGS as its arguments
        name, values = _call_plan(ns, module, wasi)
        out_format = _output_format(ns)
        try:
            load_cost_table(ns.cost)
        except (ValueError, OSError) as e:
            raise UsageError(str(e)) from None
        progress = TerminalProgress() if sys.stderr.isatty() else None
        interrupted = False
        try:
            prof = profile(module, invoke=name, args=values, wasi=wasi, cost=ns.cost, time=ns.time,
                           flamechart=ns.flamechart, max_events=ns.max_events, sample_every=ns.sample_every,
                           max_depth=ns.max_depth, max_ticks=ns.max_ticks, progress=progress)
        except ValueError as e:  # an option profile() refuses (--max-depth 0, ...)
            raise UsageError(str(e)) from None
        except KeyboardInterrupt as e:  # Ctrl-C: what ran so far is still a profile
            if getattr(e, "profile", None) is None:
                raise
            prof, interrupted = e.profile, True
        finally:
            if progress is not None:
                progress.close()
    prof.module_name = os.path.basename(ns.file)
    if ns.output:
        opts = {"source_dirs": ns.source_dir} if out_format == "lines-html" else {}
        try:
            prof.save(ns.output, out_format, **opts)
        except OSError as e:
            raise Error(f"cannot write {ns.output}: {e.strerror or e}") from None
        print(f"{PROG}: wrote {ns.output}", file=sys.stderr)
        if ns.lines is not None:
            _write_annotated_source(prof, ns.output, ns.source_dir)
    if ns.top or not (ns.output or ns.lines is not None):
        _print_top(prof, ns.top or 10)
    if ns.lines is not None:
        _print_lines(prof, ns.lines)
    if prof.hint and (prof.trap is None or prof.hint not in str(prof.trap)):  # said once
        print(f"{PROG}: {prof.hint}", file=sys.stderr)
    if prof.events_truncated:
        print(f"{PROG}: the flamechart was truncated at {ns.max_events} events (raise --max-events)", file=sys.stderr)
    if interrupted:
        print(f"{PROG}: interrupted (the profile covers the run up to the interruption)", file=sys.stderr)
        return 130
    if prof.trap is not None:
        print(f"{PROG}: {'limit' if not isinstance(prof.trap, Trap) else 'trap'}: {prof.trap} "
              f"(the profile covers the run up to it)", file=sys.stderr)
        _say_coredump(prof.trap)
        return 1
    return prof.exit_code or 0  # a WASI program's exit status, as for run


# ---- coredump (python/wasmprof/coredump/cli.py) ---------------------------------------


def _run_coredump(ns: argparse.Namespace) -> int:
    from .coredump import cli as coredump_cmd

    try:
        return coredump_cmd.run(ns)
    except coredump_cmd.CoredumpUsageError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise Error(f"cannot read {e.filename}: {e.strerror or e}") from None


def _configure_coredump(p: argparse.ArgumentParser) -> None:
    from .coredump import cli as coredump_cmd

    coredump_cmd.configure(p)


# ---- profile-many (python/wasmprof/profiles/many_cli.py) ----------------------------------


def _configure_profile_many(p: argparse.ArgumentParser) -> None:
    from .profiles import many_cli

    many_cli.configure(p)


def _run_profile_many(ns: argparse.Namespace) -> int:
    from .profiles import many_cli

    try:
        return many_cli.run(ns)
    except many_cli.ManyUsageError as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise Error(f"cannot write {e.filename}: {e.strerror or e}") from None


# ---- debug (python/wasmprof/debug_cli.py) ----------------------------------------------


def _run_debug(ns: argparse.Namespace) -> int:
    from . import debug_cli

    return debug_cli.run(ns)


def _configure_debug(p: argparse.ArgumentParser) -> None:
    from . import debug_cli

    debug_cli.configure(p)


COMMANDS: List[_Command] = [
    _Command("run", "instantiate a module and call an export", _configure_run, _run),
    _Command("coredump", "read a WebAssembly coredump (show, mem)", _configure_coredump, _run_coredump),
    _Command("profile", "run a module under the exact profiler", _configure_profile, _profile),
    _Command("profile-many", "profile one run per input, in parallel, and merge the profiles exactly",
             _configure_profile_many, _run_profile_many),
    _Command("debug", "debug a call interactively (breakpoints, watchpoints, reverse steps)", _configure_debug,
             _run_debug),
]


# ---- entry point -------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        try:
            int(text, 0)
            return True
        except ValueError:
            return False


def _say_coredump(error: BaseException) -> None:
    """Say where a trap's coredump went (WASMPROF_COREDUMP asked for one)."""
    path = getattr(error, "coredump", None)
    if path:
        print(f"{PROG}: wasm coredump written to {path} (read it with: {PROG} coredump show {path})", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="A WebAssembly interpreter with an exact profiler.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" is passed through untouched (a WASI program's own options).
    after: List[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, after = argv[:cut], argv[cut + 1:]
    ns, extras = parser.parse_known_args(argv)
    if after:
        if not getattr(ns, "_extra_args", False):
            parser.error(f"unrecognized arguments: {' '.join(after)}")
        ns.args = list(ns.args) + after
    if extras:
        unknown = [a for a in extras if a.startswith("-") and a != "--" and not _is_number(a)]
        if unknown or not getattr(ns, "_extra_args", False):
            parser.error(f"unrecognized arguments: {' '.join(unknown or extras)}")
        ns.args = list(ns.args) + [a for a in extras if a != "--"]
    try:
        return int(ns._run(ns))
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Trap as e:
        print(f"{PROG}: trap: {e}", file=sys.stderr)
        _say_coredump(e)
        return 1
    except (DecodeError, ValidationError) as e:
        print(f"{PROG}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except Error as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
