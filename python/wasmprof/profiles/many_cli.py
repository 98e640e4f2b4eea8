"""``wasmprof profile-many``: the command line of :func:`wasmprof.profile_many`.

    profile-many FILE.wasm --inputs DIR_OR_FILE [--invoke NAME]
                 [--workers N | --dask ADDRESS | --ray [ADDRESS]]
                 [-o MERGED] [--format FMT] [--per-input TABLE.csv] [--top N] [--top-inputs N]
                 [--cost FILE] [--time] [--max-ticks N] [--max-depth N] [--chunksize N]
                 [--dir HOST[::GUEST]] [--env K[=V]] [--progress | --no-progress] [-- ARGS...]

Inputs: a FILE has one input per line (blank lines and lines starting with
``#`` are skipped): its words (shell quoting) are the arguments of
``--invoke``, or of the WASI command after ARGS.  A DIR has one input per
file (by name): a WASI command gets ARGS with ``{}`` replaced by the file's
path in the guest (``/input/NAME``, the file shipped with the run), or, when
no ARG is ``{}``, the file on its stdin; for ``--invoke`` the file's words
are the arguments.  Labels: the line, or the file name.

Mistakes are found before anything runs (one line, status 2).  The status
is 0 when every input ran normally, 1 when any failed (the table says
which), 130 after Ctrl-C (what finished is written).
"""
from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
from dataclasses import asdict
from typing import Any, List, Optional

from .._core import Module
from ..invoke import NothingToCall, entry_point, exported_functions
from ..wasi import imports_wasi
from .many_worker import InputRow, RunInput

__all__ = ["configure", "run", "read_inputs", "write_table", "ManyUsageError"]

INPUT_DIR = "/input"


class ManyUsageError(Exception):
    """A mistake on the command line (the CLI's status 2)."""


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.wasm", help="the module to profile")
    p.add_argument("--inputs", required=True, metavar="DIR_OR_FILE",
                   help="one input per line of FILE, or per file in DIR")
    p.add_argument("--invoke", metavar="NAME", help="the exported function to call (default: _start if exported)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="processes on this machine (default: its cores)")
    where.add_argument("--dask", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS (wasmprof[dask])")
    where.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="run on Ray: the cluster at ADDRESS, or a local one (wasmprof[ray])")
    p.add_argument("-o", "--output", metavar="PATH", help="write the merged profile (format from the name)")
    p.add_argument("--format", metavar="FMT", help="the merged profile's format (see Profile.save)")
    p.add_argument("--per-input", metavar="TABLE.csv", help="write the per-input table as CSV")
    p.add_argument("--top", type=int, metavar="N", help="print the N functions with the most self ticks")
    p.add_argument("--top-inputs", type=int, metavar="N", help="print the N inputs with the most ticks")
    p.add_argument("--cost", metavar="FILE", help="cost table: JSON or TOML of instruction name -> ticks")
    p.add_argument("--time", action="store_true", help="also measure wall-clock time per node")
    p.add_argument("--max-ticks", type=int, metavar="N", help="stop each run after N ticks (its row says limit)")
    p.add_argument("--max-depth", type=int, metavar="N", help="fold calls deeper than N into the node at depth N")
    p.add_argument("--chunksize", type=int, metavar="N", help="inputs per task (default: about 8 tasks per worker)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                   help="WASI: preopen directory HOST as GUEST in every run (it must exist on the workers)")
    p.add_argument("--env", action="append", default=[], metavar="K[=V]", help="WASI: set K in every run")
    p.add_argument("args", nargs="*", metavar="ARGS", help="arguments of every run (WASI commands)")
    p.set_defaults(_extra_args=True)


def _words(text: str, where: str) -> List[str]:
    try:
        return shlex.split(text, comments=False)
    except ValueError as e:
        raise ManyUsageError(f"{where}: {e}") from None


def read_inputs(path: str, *, wasi_command: bool, common: List[str]) -> List[RunInput]:
    """The runs that --inputs names (see the module docstring)."""
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n)))
        out = []
        for name in names:
            with open(os.path.join(path, name), "rb") as f:
                data = f.read()
            if not wasi_command:
                out.append(RunInput(args=tuple(_words(data.decode("utf-8", "replace"), name)), label=name))
            elif "{}" in common:
                guest = f"{INPUT_DIR}/{name}"
                out.append(RunInput(args=tuple(guest if a == "{}" else a for a in common), files={guest: data},
                                    label=name))
            else:
                out.append(RunInput(args=tuple(common), stdin=data, label=name))
        return out
    if not os.path.isfile(path):
        raise ManyUsageError(f"--inputs {path}: no such file or directory")
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            words = _words(text, f"{path}:{lineno}")
            out.append(RunInput(args=tuple(common + words if wasi_command else words), label=text))
    return out


def _typed(inputs: List[RunInput], params: List[str], name: str, path: str) -> List[RunInput]:
    """The arguments of an invoked export as values of its parameter types (checked before anything runs)."""
    from ..cli import UsageError, parse_value

    out = []
    for inp in inputs:
        if len(inp.args) != len(params):
            raise ManyUsageError(f"input {inp.label!r} in {path}: {name} takes {len(params)} argument"
                                 f"{'s' if len(params) != 1 else ''}, got {len(inp.args)}")
        try:
            values = tuple(parse_value(a, t) for a, t in zip(inp.args, params))
        except UsageError as e:
            raise ManyUsageError(f"input {inp.label!r} in {path}: {e}") from None
        out.append(RunInput(args=values, label=inp.label))
    return out


def write_table(rows: List[InputRow], path: str) -> None:
    """The per-input table as CSV (one row per input, in input order)."""
    from .model import write_atomic

    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(InputRow.__dataclass_fields__), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in asdict(r).items()})
    write_atomic(path, buf.getvalue())


def _executor(ns: argparse.Namespace) -> Any:
    if ns.dask is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ManyUsageError("--dask needs Dask's distributed: pip install wasmprof[dask]") from None
        try:
            return Client(ns.dask, timeout=10)
        except (OSError, ValueError, TimeoutError) as e:
            raise ManyUsageError(f"cannot connect to the Dask scheduler at {ns.dask}: {e}") from None
    if ns.ray is not None:
        try:
            import ray
        except ImportError:
            raise ManyUsageError("--ray needs Ray: pip install wasmprof[ray]") from None
        try:
            ray.init(address=ns.ray or None, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise ManyUsageError(f"cannot start or reach Ray{' at ' + ns.ray if ns.ray else ''}: {e}") from None
        return "ray"
    return None


def _check_output(path: Optional[str]) -> None:
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ManyUsageError(f"cannot write {path}: no directory {directory}")


def run(ns: argparse.Namespace) -> int:
    """Run the command; ManyUsageError for the CLI's mistakes."""
    from ..cli import PROG, _load, _output_format, UsageError
    from .many import profile_many
    from .profiler import load_cost_table

    module: Module = _load(ns.file)
    try:
        name = entry_point(module, ns.invoke, how="--invoke NAME")
    except NothingToCall as e:
        raise ManyUsageError(str(e)) from None
    wasi = imports_wasi(module)
    if not wasi and (ns.dir or ns.env or ns.args):
        raise ManyUsageError("--dir, --env and ARGS need a module that imports WASI (wasi_snapshot_preview1)")
    command = wasi and ns.invoke is None
    inputs = read_inputs(ns.inputs, wasi_command=command, common=list(ns.args))
    if not inputs:
        raise ManyUsageError(f"--inputs {ns.inputs}: no inputs (blank and # lines are skipped)")
    if not command and name is not None:
        inputs = _typed(inputs, list(exported_functions(module)[name].params), name, ns.inputs)
    env = {}
    for spec in ns.env:
        key, sep, value = spec.partition("=")
        if sep or key in os.environ:
            env[key] = value if sep else os.environ[key]
    preopens = {}
    for spec in ns.dir:
        host, sep, guest = spec.partition("::")
        if not os.path.isdir(host):
            raise ManyUsageError(f"--dir {spec}: no directory {host}")
        preopens[guest if sep else host] = os.path.abspath(host)
    if env or preopens:
        inputs = [RunInput(args=i.args, stdin=i.stdin, env=env, files=i.files, preopens=preopens, label=i.label)
                  for i in inputs]
    try:
        out_format = _output_format(ns)
    except UsageError as e:
        raise ManyUsageError(str(e)) from None
    _check_output(ns.per_input)
    if ns.per_input and not ns.per_input.endswith(".csv"):
        raise ManyUsageError(f"--per-input {ns.per_input}: the table is CSV, name it *.csv")
    for opt in ("workers", "max_ticks", "max_depth", "chunksize", "top", "top_inputs"):
        value = getattr(ns, opt)
        if value is not None and value < 1:
            raise ManyUsageError(f"--{opt.replace('_', '-')} must be at least 1")
    try:
        load_cost_table(ns.cost)
    except (ValueError, OSError) as e:
        raise ManyUsageError(str(e)) from None
    executor = _executor(ns)
    try:
        result = profile_many(ns.file, inputs, invoke=ns.invoke, executor=executor, workers=ns.workers,
                              cost=ns.cost, time=ns.time, max_ticks=ns.max_ticks, max_depth=ns.max_depth,
                              chunksize=ns.chunksize, progress=ns.progress)
    finally:
        if executor == "ray":
            import ray

            ray.shutdown()
        elif executor is not None:
            executor.close()
    prof = result.profile
    if ns.output:
        prof.save(ns.output, out_format)
        print(f"{PROG}: wrote {ns.output}", file=sys.stderr)
    if ns.per_input:
        write_table(result.rows, ns.per_input)
        print(f"{PROG}: wrote {ns.per_input}", file=sys.stderr)
    if ns.top or not ns.output:
        from ..cli import _print_top

        _print_top(prof, ns.top or 10)
    if ns.top_inputs:
        _print_top_inputs(result.rows, ns.top_inputs)
    counts: dict = {}
    for r in result.rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(f"{PROG}: {len(result.rows)} inputs: {summary}; {prof.total_ticks:,} ticks", file=sys.stderr)
    if result.interrupted:
        print(f"{PROG}: interrupted (the profile and the table cover the inputs that finished)", file=sys.stderr)
        return 130
    return 1 if result.failed else 0


def _print_top_inputs(rows: List[InputRow], n: int) -> None:
    ranked = sorted(rows, key=lambda r: -(r.ticks or 0))[:n]
    print(f"{'ticks':>14} {'calls':>10} {'status':>9}  input")
    for r in ranked:
        print(f"{(r.ticks or 0):>14,} {(r.calls or 0):>10,} {r.status:>9}  {r.label}")
