"""Profiling sessions on live instances: ``wasmprof.profiling()`` and
``Instance.profile()``.

``wasmprof.profile()`` instantiates a module and runs one call; a session
profiles the calls a program already makes, into instances it already
has::

    with wasmprof.profiling() as session:
        instance.exports.init()
        for text in inputs:
            instance.exports.eval(text)
    print(session.profile.top_table())

Every guest call made on this thread inside the block (into any instance,
any number of them, with Python in between) is profiled exactly, and guest
calls that host functions make inside a profiled call are part of it.
Each top-level call adds a subtree under the root; calls of the same
function share one, so ``init`` and ``eval`` come out side by side, each
with its own totals.  To leave a call out, run it before the block, or
between ``session.pause()`` and ``session.resume()`` (``with
session.paused():``).  ``instance.profile()`` is the same for the calls
into one instance.

The C core (csrc/observe/profile_session.c) keeps the profile off the thread's
context between calls: a call it does not take runs in the plain
interpreter loop, exactly as without a session.

Names: functions of the first instance entered (or of ``instance``) keep
their plain names; functions of other modules are named ``file!func``, so
that two modules' functions never merge in the per-function views.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .. import _core
from .._core import Instance, Module
from ..build_hints import missing_info_hint
from .model import ENTRY, Profile
from .profiler import DEFAULT_MAX_EVENTS, CostSpec, _build_profile, _Names, load_cost_table, source_positions

__all__ = ["ProfilingSession", "profiling", "instance_profile"]

ROOT_NAME = "<session>"


def _module_label(module: Module) -> str:
    name = getattr(module, "file_name", None)
    return os.path.basename(name) if name else "<module>"


class _Naming:
    """Names for the nodes of a session's profile: each node is named in the
    module of the instance that owns its function (core: _session_end)."""

    def __init__(self, primary: Optional[Instance]) -> None:
        self.primary = primary
        self.names: Dict[int, _Names] = {}  # id(instance) -> its names

    def names_of(self, inst: Instance) -> _Names:
        n = self.names.get(id(inst))
        if n is None:
            n = _Names(inst.module)
            n.add_exports(inst)
            self.names[id(inst)] = n
        return n


def _owner_module_prefix(inst: Instance, labels: Dict[int, str]) -> str:
    label = labels.get(id(inst))
    if label is None:
        base = _module_label(inst.module)
        taken = set(labels.values())
        label, k = base, 2
        while label in taken:  # two instances of modules with one file name
            label, k = f"{base}#{k}", k + 1
        labels[id(inst)] = label
    return label


def _collapse(offsets: Optional[Dict[int, Tuple[int, int, int]]]) -> Optional[Dict[int, Tuple[int, int, int]]]:
    """A node's per-instruction counts as one ENTRY row: offsets of another
    module than the profile's mean nothing in its source positions."""
    if not offsets:
        return offsets
    return {ENTRY: (sum(v[0] for v in offsets.values()), sum(v[1] for v in offsets.values()),
                    sum(v[2] for v in offsets.values()))}


def build_session_profile(raw: Tuple[Any, ...], owners: List[Tuple[Optional[Instance], Optional[int]]],
                          *, primary: Optional[Instance], root_name: str, cost_model: str, timed: bool,
                          flamechart: bool, sample_every: Optional[int]) -> Profile:
    """The Profile of a session from the core's raw nodes and their owners.

    The primary module (``primary``'s, else the first instance entered) is
    the profile's: its functions keep their indices, names, declarations and
    source lines.  A node of another module is named ``file!func`` with no
    index (indices of two modules must not merge) and its ticks form one
    row without a source line."""
    if primary is None:
        primary = next((inst for inst, _k in owners if inst is not None), None)
    naming = _Naming(primary)

    def foreign(inst: Optional[Instance]) -> bool:
        return primary is None or inst is None or (inst is not primary and inst.module is not primary.module)

    # Host nodes get the import index they were called through (the core
    # cannot tell it without the owner); another module's nodes go in with
    # no index, so the primary module's names, declarations and lines are
    # never looked up for them.  Only a node's second field changes: the
    # rest of the raw form is _profile_stop's, whatever it holds.
    index = [k if k is not None else node[1] for node, (_inst, k) in zip(raw[0], owners)]
    fixed = [(node[0], None if foreign(inst) else index[i], *node[2:])
             for i, (node, (inst, _k)) in enumerate(zip(raw[0], owners))]
    names: Any = naming.names_of(primary) if primary is not None else _NoNames()
    prof = _build_profile((fixed, *raw[1:]), names, root_name=root_name,
                          module_name=_module_label(primary.module) if primary is not None else "<none>",
                          cost_model=cost_model, timed=timed, flamechart=flamechart, sample_every=sample_every)
    labels: Dict[int, str] = {}
    if primary is not None:
        labels[id(primary)] = _module_label(primary.module)
    for node, (inst, _k), func in zip(prof.nodes, owners, index):
        if node.id == 0 or func is None or not foreign(inst):
            continue
        node.offsets = _collapse(node.offsets)
        if inst is None:  # its instance is gone: only the index is known
            node.name, node.raw_name = f"<freed instance>!func[{func}]", None
            continue
        theirs = naming.names_of(inst)
        node.name = f"{_owner_module_prefix(inst, labels)}!{theirs.display(func)}"
        node.raw_name = theirs.raw(func)
    if primary is not None:
        seen = {off for n in prof.nodes if n.offsets for off in n.offsets}
        prof.locations = source_positions(primary.module, sorted(seen))
        prof.hint = missing_info_hint(primary.module)
    return prof


class _NoNames:
    """Stand-in for a session that profiled nothing."""

    module = None
    imports: List[str] = []

    def raw(self, index: int) -> None:
        return None

    def display(self, index: int) -> str:
        return f"func[{index}]"


class ProfilingSession:
    """A profiling session on this thread (use it as a context manager).

    ``profile`` is None while the session runs and the exact
    :class:`~wasmprof.Profile` after it ends (also when the block raised).
    """

    def __init__(self, *, instance: Optional[Instance] = None, cost: CostSpec = None, time: bool = False,
                 flamechart: bool = False, max_depth: Optional[int] = None, max_events: int = DEFAULT_MAX_EVENTS,
                 sample_every: Optional[int] = None, root_name: str = ROOT_NAME) -> None:
        if instance is not None and not isinstance(instance, Instance):
            raise TypeError(f"instance must be a wasmprof.Instance, not {type(instance).__name__}")
        if max_depth is not None and max_depth < 1:
            raise ValueError("max_depth must be at least 1")
        if sample_every is not None and sample_every < 1:
            raise ValueError("sample_every must be at least 1")
        self.instance = instance
        self.table = load_cost_table(cost)
        self.time = bool(time)
        self.flamechart = bool(flamechart)
        self.max_depth = max_depth
        self.max_events = max_events
        self.sample_every = sample_every
        self.root_name = root_name
        self.profile: Optional[Profile] = None
        self._running = False
        self._paused = False

    # -- running ------------------------------------------------------------------------------

    def start(self) -> "ProfilingSession":
        """Start profiling (``with`` does it); a second session on the thread raises wasmprof.Error."""
        if self._running:
            raise RuntimeError("this profiling session is already running")
        t = self.table
        _core._profile_start(t.costs, default_cost=t.default, per_call=t.per_call, time=self.time,
                             events=self.flamechart, max_events=self.max_events, max_depth=self.max_depth or 0,
                             max_ticks=0, sample_every=self.sample_every or 0)
        try:
            _core._session_begin(self.instance)
        except BaseException:
            _core._profile_stop(None)
            raise
        self._running, self._paused, self.profile = True, False, None
        return self

    def stop(self) -> Profile:
        """End the session and return its profile (also kept in ``profile``)."""
        if not self._running:
            raise RuntimeError("this profiling session is not running")
        raw, owners = _core._session_end()
        self._running = False
        self.profile = build_session_profile(
            raw, owners, primary=self.instance, root_name=self.root_name, cost_model=self.table.describe(),
            timed=self.time, flamechart=self.flamechart,
            sample_every=self.sample_every if self.flamechart else None)
        return self.profile

    def pause(self) -> None:
        """Leave the calls made from now on out of the profile (a call in progress goes on being profiled)."""
        self._need_running()
        _core._session_pause(True)
        self._paused = True

    def resume(self) -> None:
        """Profile the calls made from now on again."""
        self._need_running()
        _core._session_pause(False)
        self._paused = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """``with session.paused():`` leaves the calls made in the block out."""
        was = self._paused
        self.pause()
        try:
            yield
        finally:
            if not was:
                self.resume()

    @property
    def running(self) -> bool:
        return self._running

    def _need_running(self) -> None:
        if not self._running:
            raise RuntimeError("this profiling session is not running")

    def __enter__(self) -> "ProfilingSession":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        if self._running:
            self.stop()

    def __repr__(self) -> str:
        state = "running" if self._running else ("ended" if self.profile is not None else "not started")
        return f"<wasmprof.ProfilingSession {state}>"

    def _repr_html_(self) -> Optional[str]:
        return self.profile._repr_html_() if self.profile is not None else None


def profiling(*, instance: Optional[Instance] = None, cost: CostSpec = None, time: bool = False,
              flamechart: bool = False, max_depth: Optional[int] = None, max_events: int = DEFAULT_MAX_EVENTS,
              sample_every: Optional[int] = None, root_name: str = ROOT_NAME) -> ProfilingSession:
    """A session that profiles every guest call made on this thread while
    it runs (``with wasmprof.profiling() as session: ...``; then
    ``session.profile``).  ``instance`` limits it to calls into one
    instance (``instance.profile()``).  The options are
    :func:`wasmprof.profile`'s: ``cost`` table, wall-clock ``time``,
    ``flamechart`` events (``max_events``, ``sample_every``) and
    ``max_depth``."""
    return ProfilingSession(instance=instance, cost=cost, time=time, flamechart=flamechart, max_depth=max_depth,
                            max_events=max_events, sample_every=sample_every, root_name=root_name)


def instance_profile(instance: Instance, **options: Any) -> ProfilingSession:
    """``Instance.profile(**options)``: a session on the calls into this instance."""
    return profiling(instance=instance, **options)
