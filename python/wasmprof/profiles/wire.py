"""Partial profiles: exact sums of runs, mergeable and shipped between processes.

A :class:`PartialProfile` is the profile of some runs of one module (one
run, a worker's batch, a whole workload), kept as a call tree keyed by call
path.  Adding two is associative and commutative and exact: the counters of
each call path are summed, so merging the partials of N runs in any grouping
and any order gives the same profile, equal to that of the N runs one after
the other (as :meth:`wasmprof.Profile.merge` sums them).  This is what
``wasmprof.profile_many`` merges on workers and on the cluster.

Its serialised form (:meth:`PartialProfile.to_bytes`, :func:`loads`) is
compact and versioned: the magic ``WPPART``, a little-endian u16 format
version, then a MessagePack map (see ``_encode``).  A reader refuses any
other version with :class:`WireFormatError`, so workers and the driver must
run the same format.

Per-node tables: every :class:`~wasmprof.profiles.model.Node` field other
than the call path's identity (``id``, ``parent``, ``children``, ``func``,
``name``, ``raw_name``, ``host``, ``location``) is a counter, summed across
runs: integers add, ``None`` means "not recorded", and mappings (for
example ticks per source line or per code offset) add key by key, their
values being integers or tuples of integers.  A field added to ``Node``
later is carried, merged and serialised by name without a format change.
"""
from __future__ import annotations

import dataclasses
import struct
from typing import Any, Dict, Iterable, List, Mapping, Tuple, Type

from .model import FuncKey, Node, Profile

__all__ = ["PartialProfile", "WireFormatError", "FORMAT_VERSION", "MAGIC", "dumps", "loads", "canonical"]

MAGIC = b"WPPART"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<6sH")

# Node fields that say which call path a node is (the rest are counters).
_PATH_FIELDS = ("id", "parent", "children", "func", "name", "raw_name", "host", "location")
_FUNC_INFO = ("name", "raw_name", "host", "location")  # the same for every node of one function
_CORE_COUNTERS = ("calls", "self_ticks", "total_ticks", "self_time_ns", "total_time_ns")


class WireFormatError(ValueError):
    """Bytes that are not a partial profile this wasmprof can read (wrong magic, version or layout)."""


def _add(a: Any, b: Any) -> Any:
    """The sum of two counter values: None is absent; ints add; mappings add key by key."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, bool) or isinstance(b, bool):
        raise TypeError("cannot sum booleans as counters")
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = dict(a)
        for k, v in b.items():
            out[k] = _add(out[k], v) if k in out else v
        return out
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
        return tuple(_add(x, y) for x, y in zip(a, b))
    raise TypeError(f"cannot sum counter values {a!r} and {b!r}")


def _freeze(value: Any) -> Any:
    """A counter value with lists made tuples (MessagePack gives tuples back), so equal values compare equal."""
    if isinstance(value, Mapping):
        return {_freeze(k): _freeze(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _key_order(key: FuncKey) -> Tuple[int, Any]:
    return (0, key) if isinstance(key, int) else (1, str(key))


class PartialProfile:
    """The exact sum of the profiles of some runs of one module: mergeable, serialisable.

    Build one with :meth:`from_profile` (or :meth:`empty`), add others with
    ``+`` or :meth:`add` (in place), ship it with :meth:`to_bytes` /
    :meth:`from_bytes`, and turn it into a :class:`~wasmprof.Profile` with
    :meth:`to_profile`.  ``runs`` counts the runs summed.
    """

    __slots__ = ("module_name", "cost_model", "timed", "root_name", "runs", "funcs", "_parent", "_key",
                 "_counters", "_index")

    def __init__(self, module_name: str, cost_model: str, timed: bool, root_name: str) -> None:
        self.module_name = module_name
        self.cost_model = cost_model
        self.timed = timed
        self.root_name = root_name
        self.runs = 0
        #: function key -> (name, raw_name, host, location)
        self.funcs: Dict[FuncKey, Tuple[Any, ...]] = {}
        self._parent: List[int] = [-1]
        self._key: List[FuncKey] = [root_name]
        #: counter field name -> one value per node (None: not recorded)
        self._counters: Dict[str, List[Any]] = {"calls": [0], "self_ticks": [0], "total_ticks": [0]}
        if timed:
            self._counters["self_time_ns"] = [0]
            self._counters["total_time_ns"] = [0]
        self._index: Dict[Tuple[int, FuncKey], int] = {}

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def empty(cls, module_name: str, cost_model: str = "1 tick per instruction", timed: bool = False,
              root_name: str = "<module>") -> "PartialProfile":
        """A sum of no runs (the neutral element of ``+``)."""
        return cls(module_name, cost_model, timed, root_name)

    @classmethod
    def from_profile(cls, profile: Profile) -> "PartialProfile":
        """The partial profile of one :class:`~wasmprof.Profile` (one run, or a merge of runs).

        ``runs`` is the root's call count: 1 for a profile of one run, N for a merge of N."""
        part = cls(profile.module_name, profile.cost_model, profile.timed, profile.root.name)
        part._add_nodes(profile.nodes, runs=profile.root.calls)
        return part

    def _node(self, parent: int, key: FuncKey) -> int:
        j = self._index.get((parent, key))
        if j is None:
            j = len(self._parent)
            self._index[(parent, key)] = j
            self._parent.append(parent)
            self._key.append(key)
            for values in self._counters.values():
                values.append(None)
        return j

    def _add_nodes(self, nodes: Iterable[Node], runs: int) -> None:
        mapped: Dict[int, int] = {}
        nodes = list(nodes)
        extra = [f.name for f in dataclasses.fields(nodes[0]) if f.name not in _PATH_FIELDS] if nodes else []
        for name in extra:
            if name in ("self_time_ns", "total_time_ns") and not self.timed:
                continue
            self._counters.setdefault(name, [None] * len(self._parent))
        for n in sorted(nodes, key=lambda n: n.id):  # a parent's id is smaller than its children's
            if n.parent == -1:
                j = 0
            else:
                j = self._node(mapped[n.parent], n.key)
                if n.key not in self.funcs:
                    self.funcs[n.key] = tuple(getattr(n, f) for f in _FUNC_INFO)
            mapped[n.id] = j
            for name, values in self._counters.items():
                try:
                    values[j] = _add(values[j], _freeze(getattr(n, name, None)))
                except TypeError as exc:
                    raise TypeError(f"PartialProfile cannot sum Node.{name} ({exc}): per-node counters are ints, "
                                    f"None or mappings of ints (wasmprof/profiles/wire.py)") from None
        self.runs += runs

    # -- merging -------------------------------------------------------------------------------

    def _check_compatible(self, other: "PartialProfile") -> None:
        if not isinstance(other, PartialProfile):
            raise TypeError(f"can only add a PartialProfile, not {type(other).__name__}")
        if other.module_name != self.module_name:
            raise ValueError(f"partial profiles of different modules ({self.module_name!r} and "
                             f"{other.module_name!r})")
        if other.cost_model != self.cost_model:
            raise ValueError(f"partial profiles with different cost models ({self.cost_model!r} and "
                             f"{other.cost_model!r})")

    def add(self, other: "PartialProfile") -> "PartialProfile":
        """Add ``other``'s runs to this one, in place; returns self.

        Time is kept only when both are timed.  The root's name is the smaller of the two when they
        differ (runs that trapped while instantiating keep the name ``<module>``)."""
        self._check_compatible(other)
        if self.timed and not other.timed:
            self.timed = False
            for name in ("self_time_ns", "total_time_ns"):
                self._counters.pop(name, None)
        self.root_name = min(self.root_name, other.root_name)
        self._key[0] = self.root_name
        for name in other._counters:
            if name in ("self_time_ns", "total_time_ns") and not self.timed:
                continue
            self._counters.setdefault(name, [None] * len(self._parent))
        mapped = [0] * len(other._parent)
        for i in range(1, len(other._parent)):  # parents come before their children
            mapped[i] = self._node(mapped[other._parent[i]], other._key[i])
        for key, info in other.funcs.items():
            mine = self.funcs.get(key)
            if mine is None or _info_order(info) < _info_order(mine):  # the same for any order of adding
                self.funcs[key] = info
        for name, values in self._counters.items():
            theirs = other._counters.get(name)
            if theirs is None:
                continue
            for i, v in enumerate(theirs):
                if v is not None:
                    j = mapped[i]
                    values[j] = _add(values[j], v)
        self.runs += other.runs
        return self

    def copy(self) -> "PartialProfile":
        out = PartialProfile(self.module_name, self.cost_model, self.timed, self.root_name)
        return out.add(self)

    def __add__(self, other: "PartialProfile") -> "PartialProfile":
        return self.copy().add(other)

    def __iadd__(self, other: "PartialProfile") -> "PartialProfile":
        return self.add(other)

    @classmethod
    def sum(cls, parts: Iterable["PartialProfile"]) -> "PartialProfile":
        """The sum of one or more partial profiles (the first is not modified)."""
        it = iter(parts)
        try:
            total = next(it).copy()
        except StopIteration:
            raise ValueError("PartialProfile.sum() of nothing: give at least one partial profile") from None
        for p in it:
            total.add(p)
        return total

    # -- reading -------------------------------------------------------------------------------

    @property
    def total_ticks(self) -> int:
        return int(self._counters["total_ticks"][0] or 0)

    @property
    def counter_names(self) -> Tuple[str, ...]:
        """The counters kept per node (calls, ticks, time when timed, and any per-node tables)."""
        return tuple(self._counters)

    def paths(self) -> Dict[Tuple[FuncKey, ...], Dict[str, Any]]:
        """{call path (function keys from the root's child down): {counter: value}}; the root is ``()``."""
        out: Dict[Tuple[FuncKey, ...], Dict[str, Any]] = {}
        path: List[Tuple[FuncKey, ...]] = [()]
        for i in range(1, len(self._parent)):
            path.append(path[self._parent[i]] + (self._key[i],))
        for i, p in enumerate(path):
            out[p] = {name: values[i] for name, values in self._counters.items()}
        return out

    def to_profile(self, node_type: Type[Node] = Node) -> Profile:
        """The merged :class:`~wasmprof.Profile`, in a canonical order.

        Children are ordered by function index (then name), so the result does not depend on the order
        in which runs were added.  Counters that ``node_type`` has no field for are left out."""
        kids: List[List[int]] = [[] for _ in self._parent]
        for i in range(1, len(self._parent)):
            kids[self._parent[i]].append(i)
        for k in kids:
            k.sort(key=lambda i: _key_order(self._key[i]))
        order: List[int] = []
        stack = [0]
        while stack:
            i = stack.pop()
            order.append(i)
            stack.extend(reversed(kids[i]))
        new_id = {old: new for new, old in enumerate(order)}
        fields = {f.name for f in dataclasses.fields(node_type)}
        nodes: List[Node] = []
        for old in order:
            key = self._key[old]
            if old == 0:
                info: Tuple[Any, ...] = (self.root_name, None, False, None)
            else:
                info = self.funcs.get(key, (str(key), None, False, None))
            kw: Dict[str, Any] = dict(zip(_FUNC_INFO, info))
            kw["location"] = tuple(kw["location"]) if kw["location"] is not None else None
            for name, values in self._counters.items():
                if name in fields:
                    kw[name] = values[old]
            for name in ("calls", "self_ticks", "total_ticks"):
                kw[name] = kw.get(name) or 0
            if not self.timed:
                kw["self_time_ns"] = kw["total_time_ns"] = None
            else:
                kw["self_time_ns"] = kw.get("self_time_ns") or 0
                kw["total_time_ns"] = kw.get("total_time_ns") or 0
            nodes.append(node_type(id=new_id[old], parent=new_id[self._parent[old]] if old else -1,
                                   func=key if (old and isinstance(key, int)) else None,
                                   children=[new_id[c] for c in kids[old]], **kw))
        metrics = ("calls", "ticks", "time") if self.timed else ("calls", "ticks")
        return Profile(nodes, module_name=self.module_name, cost_model=self.cost_model, metrics=metrics)

    # -- the wire form -------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The compact serialised form: ``MAGIC``, the u16 ``FORMAT_VERSION``, a MessagePack body."""
        import msgpack

        body = {
            "module": self.module_name, "cost": self.cost_model, "timed": self.timed, "root": self.root_name,
            "runs": self.runs, "parent": self._parent, "key": self._key,
            "funcs": [[k, *info] for k, info in self.funcs.items()],
            # counters: dense columns for the core ones, sparse (node, value) pairs for tables
            "counters": {name: values if name in _CORE_COUNTERS else [[i, v] for i, v in enumerate(values)
                                                                        if v is not None]
                         for name, values in self._counters.items()},
        }
        return _HEADER.pack(MAGIC, FORMAT_VERSION) + msgpack.packb(body, use_bin_type=True)

    @classmethod
    def from_bytes(cls, data: bytes) -> "PartialProfile":
        """Read :meth:`to_bytes`'s form; :class:`WireFormatError` if it is not one, or of another version."""
        import msgpack

        data = bytes(data)
        if len(data) < _HEADER.size or not data.startswith(MAGIC):
            raise WireFormatError(f"not a wasmprof partial profile (it does not start with {MAGIC!r})")
        _magic, version = _HEADER.unpack_from(data)
        if version != FORMAT_VERSION:
            raise WireFormatError(f"wasmprof partial profile format version {version}, but this wasmprof reads "
                                  f"version {FORMAT_VERSION}: run the same wasmprof on the workers and here")
        try:
            body = msgpack.unpackb(data[_HEADER.size:], use_list=False, strict_map_key=False, raw=False)
            part = cls(body["module"], body["cost"], bool(body["timed"]), body["root"])
            part.runs = int(body["runs"])
            part._parent = list(body["parent"])
            part._key = list(body["key"])
            n = len(part._parent)
            if len(part._key) != n or n < 1 or part._parent[0] != -1 or \
                    any(not 0 <= p < i for i, p in enumerate(part._parent) if i):
                raise WireFormatError("malformed wasmprof partial profile: bad node table")
            part.funcs = {f[0]: tuple(f[1:]) for f in body["funcs"]}
            part._counters = {}
            for name, values in body["counters"].items():
                if name in _CORE_COUNTERS:
                    column = list(values)
                    if len(column) != n:
                        raise WireFormatError(f"malformed wasmprof partial profile: {name} has {len(column)} "
                                              f"values for {n} nodes")
                else:
                    column = [None] * n
                    for i, v in values:
                        column[i] = v
                part._counters[name] = column
            part._index = {(part._parent[i], part._key[i]): i for i in range(1, n)}
        except WireFormatError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, msgpack.ExtraData, msgpack.FormatError,
                msgpack.StackError) as exc:
            raise WireFormatError(f"malformed wasmprof partial profile: {exc}") from exc
        return part

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartialProfile) and (
            (self.module_name, self.cost_model, self.timed, self.root_name, self.runs) ==
            (other.module_name, other.cost_model, other.timed, other.root_name, other.runs)
            and self.paths() == other.paths())

    def __repr__(self) -> str:
        return (f"<PartialProfile {self.module_name!r}: {self.runs} runs, {self.total_ticks} ticks, "
                f"{len(self._parent)} call paths>")


def _info_order(info: Tuple[Any, ...]) -> Tuple[str, ...]:
    return tuple(repr(x) for x in info)


def dumps(profile: "Profile | PartialProfile") -> bytes:
    """A profile or partial profile in the compact serialised form."""
    part = profile if isinstance(profile, PartialProfile) else PartialProfile.from_profile(profile)
    return part.to_bytes()


def loads(data: bytes) -> PartialProfile:
    """Read :func:`dumps`'s form (checks the magic and the format version)."""
    return PartialProfile.from_bytes(data)


def canonical(profile: Profile) -> Profile:
    """``profile`` with its nodes in :meth:`PartialProfile.to_profile`'s canonical order (same counters).

    Two profiles with the same counters per call path have equal canonical forms, whatever the order of
    their nodes."""
    out = PartialProfile.from_profile(profile).to_profile(type(profile.nodes[0]))
    out.locations = dict(profile.locations)  # the module's, not a counter: the same for any order
    return out
