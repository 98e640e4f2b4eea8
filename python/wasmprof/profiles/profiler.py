"""wasmprof.profile(): run a module under the profiled interpreter loop and
return an exact :class:`~wasmprof.Profile`.

The C core collects (csrc/observe/profile.c): a call tree with one node per distinct
path of calls, each with its call count, self ticks and optionally self
wall-clock time, plus an optional flamechart of call and return events.
This module turns that into the shared data model (docs/profile-model.md):
it names the functions, computes the totals and attaches the outcome of the
run (its result, or the trap that ended it).

Ticks: one per executed wasm instruction by default (see wasmprof.h for
exactly which instructions count).  A cost table replaces the default::

    {"i32.add": 1, "i64.div_s": 20, "call": 5, "default": 1, "per_call": 10}

Keys are instruction text names (both ``select`` forms share the name
"select"); two keys are special: ``default`` prices every instruction the
table does not name (1 when absent) and ``per_call`` is added to the callee
at every function entry, host functions included (0 when absent).  A table
can also be a path to a JSON file or a TOML-style file of ``name = cost``
lines.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time as _time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .. import _core
from .._core import Func, Instance, LimitError, Module, Trap
from ..build_hints import missing_info_hint
from ..invoke import entry_point
from ..wasi import Wasi, imports_wasi
from .model import ENTRY, Event, Node, Profile, SourcePos

__all__ = ["profile", "CostTable", "load_cost_table"]

CostSpec = Union[None, Mapping[str, int], str, "os.PathLike[str]"]
ProgressFn = Callable[[int], None]

DEFAULT_MAX_EVENTS = 1_000_000
PROGRESS_EVERY = 1 << 22  # ticks between progress callbacks


@dataclass(frozen=True)
class CostTable:
    """A parsed cost table: instruction prices, the default and the per-call price."""

    costs: Dict[str, int]
    default: int = 1
    per_call: int = 0

    def describe(self) -> str:
        """A one-line description for Profile.cost_model."""
        if not self.costs and self.default == 1 and self.per_call == 0:
            return "1 tick per instruction"
        parts = [f"{len(self.costs)} instruction prices", f"default {self.default}"]
        if self.per_call:
            parts.append(f"{self.per_call} per call")
        return "cost table: " + ", ".join(parts)


def _parse_toml_lines(text: str, where: str) -> Dict[str, Any]:
    """The ``name = value`` subset of TOML (comments, quoted keys) for Python < 3.11."""
    out: Dict[str, Any] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("["):
            continue
        m = re.fullmatch(r'("[^"]*"|\'[^\']*\'|[A-Za-z0-9_.\-]+)\s*=\s*(-?\d+)', line)
        if not m:
            raise ValueError(f"{where}:{lineno}: expected `name = integer`, got {raw.strip()!r}")
        out[m.group(1).strip("\"'")] = int(m.group(2))
    return out


def load_cost_table(spec: CostSpec) -> CostTable:
    """Parse a cost table from a mapping or a JSON/TOML file path."""
    if spec is None:
        return CostTable({})
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".json") or text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            try:
                import tomllib  # type: ignore[import-not-found]

                data = tomllib.loads(text)
            except ImportError:  # pragma: no cover - Python < 3.11
                data = _parse_toml_lines(text, path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a cost table must be a table of name -> cost")
        spec = data
    table = dict(spec)
    for k, v in table.items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**32:
            raise ValueError(f"cost table entry {k!r}: {v!r} (costs are integers in [0, 2**32))")
    default = table.pop("default", 1)
    per_call = table.pop("per_call", 0)
    return CostTable(table, default, per_call)


def _load_module(path_or_module: Union[str, "os.PathLike[str]", bytes, Module]) -> Tuple[Module, str]:
    if isinstance(path_or_module, Module):
        return path_or_module, "<module>"
    if isinstance(path_or_module, (bytes, bytearray, memoryview)):
        return Module(bytes(path_or_module)), "<module>"
    path = os.fspath(path_or_module)
    return Module.from_file(path), os.path.basename(path)


class _Names:
    """Function names: an imported (host) function is shown as its
    "module.field"; a defined one by its name-section name (demangled),
    else its export name, else "func[N]"."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.exports: Dict[int, str] = {}
        self.imports: List[str] = [f"{i.module}.{i.name}" for i in module.imports if i.kind == "func"]

    def add_exports(self, instance: Instance) -> None:
        """Learn export names (the first export of a function wins)."""
        for name, obj in instance.exports.items():
            if isinstance(obj, Func) and obj.index is not None and obj.instance is instance:
                self.exports.setdefault(obj.index, name)

    def raw(self, index: int) -> Optional[str]:
        return self.module.func_raw_name(index)

    def display(self, index: int) -> str:
        if index < len(self.imports):
            return self.imports[index]
        return self.module.func_name(index) or self.exports.get(index) or f"func[{index}]"


def node_offsets(n: int, insns: Optional[list]) -> List[Optional[Dict[int, Tuple[int, int, int]]]]:
    """Node.offsets for each of n nodes from _core._profile_stop's per-instruction rows
    (node, offset or None, count, ticks, calls); all None when the rows are incomplete (None)."""
    if insns is None:
        return [None] * n
    out: List[Optional[Dict[int, Tuple[int, int, int]]]] = [{} for _ in range(n)]
    for node, off, count, ticks, calls in insns:
        d = out[node]
        assert d is not None
        key = ENTRY if off is None else off
        t, c, k = d.get(key, (0, 0, 0))
        d[key] = (t + ticks, c + count, k + calls)
    return out


def source_positions(module: Module, offsets: Iterable[int]) -> Dict[int, Tuple[SourcePos, ...]]:
    """Profile.locations for these module offsets: each one's DWARF source frames, innermost
    first (nothing for offsets without lines, or a module without DWARF)."""
    out: Dict[int, Tuple[SourcePos, ...]] = {}
    for off in offsets:
        if off == ENTRY:
            continue
        frames = module.source_frames(off)
        if frames:
            out[off] = tuple((f.file, f.line, f.function) for f in frames)
    return out


def declaration(module: Module, func: Optional[int], nimports: int) -> Optional[Tuple[str, int]]:
    """Node.location: where defined function ``func`` of module is declared, when DWARF says."""
    if func is None or func < nimports:
        return None
    loc = module.func_decl(func)
    return (loc.file, loc.line) if loc is not None and loc.file is not None else None


def _build_profile(raw: Tuple[Any, ...], names: _Names, *, root_name: str, module_name: str,
                   cost_model: str, timed: bool, flamechart: bool, sample_every: Optional[int] = None) -> Profile:
    raw_nodes, raw_events, truncated = raw[:3]
    offsets = node_offsets(len(raw_nodes), raw[3] if len(raw) > 3 else None)
    nimports = len(names.imports)
    for i, (_p, func, *_rest) in enumerate(raw_nodes):
        d = offsets[i]
        if d and func is not None and func < nimports:  # an imported function's code is another module's
            offsets[i] = {ENTRY: (sum(v[0] for v in d.values()), sum(v[1] for v in d.values()),
                                  sum(v[2] for v in d.values()))}
    n = len(raw_nodes)
    total = [0] * n
    total_time = [0] * n
    children: List[List[int]] = [[] for _ in range(n)]
    for i in range(n - 1, -1, -1):  # children have larger ids than their parents
        parent, _func, _host, _imp, _calls, self_ticks, self_time = raw_nodes[i]
        if i == 0:
            self_time = 0  # time outside the guest is not the guest's
        total[i] += self_ticks
        total_time[i] += self_time
        if parent >= 0:
            total[parent] += total[i]
            total_time[parent] += total_time[i]
            children[parent].append(i)
    nodes: List[Node] = []
    for i, (parent, func, host, imp, calls, self_ticks, self_time) in enumerate(raw_nodes):
        if i == 0:
            name, raw_name, calls = root_name, None, 1
            self_time = 0
        elif func is None:
            name, raw_name = "<host>" if host else "<foreign>", None
        else:
            raw_name = names.raw(func)
            name = names.display(func)
        children[i].reverse()
        nodes.append(Node(
            id=i, parent=parent, func=func if i else None, name=name, raw_name=raw_name, host=bool(host),
            calls=calls, self_ticks=self_ticks, total_ticks=total[i],
            self_time_ns=self_time if timed else None, total_time_ns=total_time[i] if timed else None,
            children=children[i], offsets=offsets[i],
            location=declaration(names.module, func, nimports) if i and not host else None,
        ))
    events = None
    if flamechart:
        events = [Event(kind="call" if k == 0 else "return", node=node, ticks=t, time_ns=tn if timed else None)
                  for k, node, t, tn in raw_events]
    metrics = ("calls", "ticks", "time") if timed else ("calls", "ticks")
    seen = {off for d in offsets if d for off in d}
    return Profile(nodes, module_name=module_name, cost_model=cost_model, metrics=metrics, events=events,
                   events_truncated=truncated, events_sample_every=sample_every,
                   locations=source_positions(names.module, sorted(seen)))


def _exit_code(exc: BaseException) -> Optional[int]:
    """The exit code if exc is a WASI proc_exit (whatever class the WASI layer uses)."""
    if "exit" not in type(exc).__name__.lower():
        return None
    for attr in ("code", "exit_code", "status"):
        v = getattr(exc, attr, None)
        if isinstance(v, int):
            return v
    return None


def profile(
    path_or_module: Union[str, "os.PathLike[str]", bytes, Module],
    *,
    invoke: Optional[str] = None,
    args: Sequence[Any] = (),
    wasi: Optional[Wasi] = None,
    imports: Optional[Mapping[str, Mapping[str, Any]]] = None,
    cost: CostSpec = None,
    time: bool = False,
    flamechart: bool = False,
    max_depth: Optional[int] = None,
    max_events: int = DEFAULT_MAX_EVENTS,
    sample_every: Optional[int] = None,
    max_ticks: Optional[int] = None,
    progress: Optional[ProgressFn] = None,
) -> Profile:
    """Instantiate a module, run ``invoke`` (or ``_start`` when exported) with
    ``args`` and return its exact profile.  Without either, a module that
    exports functions raises NothingToCall (which lists them); one that
    exports none is profiled while it is instantiated (its start function).

    A module that imports WASI gets ``wasi``, or by default the environment
    ``wasmprof.run`` gives: run as a command (no ``invoke``), ``args`` are the
    program's arguments; a ``proc_exit`` sets ``profile.exit_code``.
    The start function, if any, is profiled too.  When the guest traps or
    reaches ``max_ticks``, the profile of the run up to that point is
    returned with the error in ``profile.trap`` (totals stay exact: the
    instructions after the trapping one are not counted); otherwise
    ``profile.trap`` is None and ``profile.result`` holds the call's result.
    ``time=True`` adds wall-clock time per node (two clock reads per call).
    ``flamechart=True`` records call/return events, at most ``max_events``
    (then ``profile.events_truncated``); with ``sample_every=N`` the flamechart
    is sampled instead: at the first call or return after each multiple of N
    ticks, the change of call path since the last sample is recorded as
    returns and calls stamped with that multiple.  ``max_depth`` folds calls deeper
    than that many levels below the root into the node at the cap: their
    ticks and time count as that node's self cost, and they are not counted
    as calls.  ``progress(ticks)`` is called about every 4M ticks (it may
    raise, e.g. KeyboardInterrupt, to stop the run).  Any exception other
    than a trap or the limit (KeyboardInterrupt from Ctrl-C, an error in a
    host function) propagates with the profile of the run up to it in its
    ``profile`` attribute.
    """
    module, module_name = _load_module(path_or_module)
    name = entry_point(module, invoke)
    table = load_cost_table(cost)
    if max_depth is not None and max_depth < 1:
        raise ValueError("max_depth must be at least 1")
    if sample_every is not None and sample_every < 1:
        raise ValueError("sample_every must be at least 1")
    if max_ticks is not None and max_ticks < 1:
        raise ValueError("max_ticks must be at least 1")
    names = _Names(module)
    inst_kwargs: Dict[str, Any] = {}
    if imports is not None:
        inst_kwargs["imports"] = imports
    if wasi is None and imports_wasi(module):
        # As wasmprof.run does: a WASI program run as a command gets args as its
        # arguments (argv[0] is the file name); an invoked export gets them as values.
        wasi = Wasi(args=[module_name, *([] if invoke else [str(a) for a in args])])
        if invoke is None:
            args = ()
    if wasi is not None:
        inst_kwargs["wasi"] = wasi

    _core._profile_start(table.costs, default_cost=table.default, per_call=table.per_call, time=bool(time),
                         events=bool(flamechart), max_events=max_events, max_depth=max_depth or 0,
                         max_ticks=max_ticks or 0, sample_every=sample_every or 0)
    instance: Optional[Instance] = None
    outcome: Optional[BaseException] = None
    result: Any = None
    exit_code: Optional[int] = None
    pending: Optional[BaseException] = None
    root_name = invoke or "<module>"
    try:
        if progress is not None:
            base = _core._ticks()  # the context's counter runs on across runs: report this run's ticks
            report = progress
            _core._set_tick_callback(PROGRESS_EVERY, lambda ticks: report(ticks - base))
        instance = Instance(module, **inst_kwargs)
        names.add_exports(instance)
        if name is not None:
            root_name = name
            result = instance.exports[name](*args)
    except (Trap, LimitError) as e:
        outcome = e
    except BaseException as e:  # noqa: BLE001 - stop the profile whatever happens, then decide
        exit_code = _exit_code(e)
        if exit_code is None:
            pending = e
    finally:
        if progress is not None:
            _core._set_tick_callback(0, None)
        raw = _core._profile_stop(instance)
    prof = _build_profile(raw, names, root_name=root_name, module_name=module_name,
                          cost_model=table.describe(), timed=bool(time), flamechart=bool(flamechart),
                          sample_every=sample_every if flamechart else None)
    prof.hint = missing_info_hint(module)
    if pending is not None:
        try:
            pending.profile = prof  # type: ignore[attr-defined]  # the run up to the interruption
        except AttributeError:
            pass
        raise pending
    prof.trap = outcome  # type: ignore[attr-defined]
    prof.result = result  # type: ignore[attr-defined]
    prof.exit_code = exit_code  # type: ignore[attr-defined]
    return prof


class TerminalProgress:
    """A progress callback that rewrites one stderr line: ticks run and rate."""

    def __init__(self, stream: Any = None, interval: float = 0.25) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.start = _time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, ticks: int) -> None:
        now = _time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        rate = ticks / max(now - self.start, 1e-9)
        self.stream.write(f"\r{ticks:,} ticks  ({rate / 1e6:,.1f} M ticks/s)  ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
