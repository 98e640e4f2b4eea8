"""Partial profiles (wasmprof.profiles.wire): the sum is exact, associative and commutative, equal to
Profile.merge's; the serialised form round-trips, carries per-node tables it does not know, and refuses
another format version with a clear error."""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import pytest

import wasmprof
from helpers.many_runs import KERNEL, TRAPPING, harmless_hook, hook_module, path_counters
from wasmprof.profiles.model import Node
from wasmprof.profiles.wire import FORMAT_VERSION, PartialProfile, WireFormatError, canonical, dumps, loads

INPUTS = [1, 2, 3, 7, 40, 300, 2000, TRAPPING]


@pytest.fixture(scope="module")
def runs():
    return [wasmprof.profile(KERNEL, invoke="run", args=(n,)) for n in INPUTS]


def test_round_trip_is_exact(runs):
    for p in runs:
        data = dumps(p)
        assert data[:6] == b"WPPART" and struct.unpack_from("<H", data, 6)[0] == FORMAT_VERSION
        back = loads(data)
        assert back.to_profile() == canonical(p)
        assert path_counters(back.to_profile()) == path_counters(p)
        assert loads(back.to_bytes()) == back
    timed = wasmprof.profile(hook_module(), invoke="run", args=(9,), time=True,
                             imports={"env": {"hook": harmless_hook}})
    back = loads(dumps(timed)).to_profile()
    assert back.timed and back == canonical(timed)
    assert [n.name for n in back.nodes if n.host] == ["env.hook"]


def test_the_wire_form_is_compact(runs):
    merged = PartialProfile.sum(PartialProfile.from_profile(p) for p in runs)
    # (3x: per-instruction counts, small integers in both forms, are most of either since they exist)
    assert len(merged.to_bytes()) * 3 < len(merged.to_profile().to_json())


def test_sum_equals_profile_merge_in_any_grouping_and_order(runs):
    by_merge = runs[0]
    for p in runs[1:]:
        by_merge = by_merge.merge(p)
    expected = canonical(by_merge)
    assert expected.root.calls == len(runs) and expected.total_ticks == sum(p.total_ticks for p in runs)
    rng = random.Random(17)
    for _ in range(20):
        parts = [loads(dumps(p)) for p in runs]
        rng.shuffle(parts)
        while len(parts) > 1:  # a random tree of sums
            i = rng.randrange(len(parts) - 1)
            parts[i:i + 2] = [parts[i] + parts[i + 1]] if rng.random() < 0.5 else [parts[i + 1] + parts[i]]
        assert parts[0].to_profile() == expected
        assert parts[0].runs == len(runs)
    # Profile.merge itself is associative and commutative per call path (its node order follows the first)
    a, b, c = runs[2], runs[5], runs[7]
    assert path_counters(a.merge(b).merge(c)) == path_counters(a.merge(b.merge(c))) == \
        path_counters(c.merge(a).merge(b))
    assert canonical(a.merge(b).merge(c)) == canonical(c.merge(b.merge(a)))


def test_empty_is_neutral(runs):
    p = PartialProfile.from_profile(runs[4])
    empty = PartialProfile.empty(p.module_name, p.cost_model, p.timed, p.root_name)
    assert (empty + p).to_profile() == p.to_profile() == (p + empty).to_profile()


def test_wrong_version_magic_or_layout_is_a_clear_error(runs):
    data = bytearray(dumps(runs[3]))
    data[6:8] = struct.pack("<H", FORMAT_VERSION + 1)
    with pytest.raises(WireFormatError, match=rf"format version {FORMAT_VERSION + 1}, but this wasmprof reads "
                                              rf"version {FORMAT_VERSION}: run the same wasmprof"):
        loads(bytes(data))
    with pytest.raises(WireFormatError, match="not a wasmprof partial profile"):
        loads(b"{\"format\": \"wasmprof-profile\"}")
    with pytest.raises(WireFormatError, match="not a wasmprof partial profile"):
        loads(b"WPP")
    good = dumps(runs[3])
    with pytest.raises(WireFormatError, match="malformed"):
        loads(good[:len(good) // 2])
    assert isinstance(WireFormatError("x"), ValueError)


def test_different_modules_or_cost_models_do_not_add(runs):
    other = wasmprof.profile(hook_module(), invoke="run", args=(1,), imports={"env": {"hook": harmless_hook}})
    with pytest.raises(ValueError, match="different modules"):
        PartialProfile.from_profile(runs[0]) + PartialProfile.from_profile(other)
    priced = wasmprof.profile(KERNEL, invoke="run", args=(3,), cost={"call": 5})
    with pytest.raises(ValueError, match="different cost models"):
        PartialProfile.from_profile(runs[0]) + PartialProfile.from_profile(priced)


@dataclass
class LineNode(Node):
    """A Node with per-node tables, as source-line profiles add: ticks per (file, line) and per offset."""

    line_ticks: Optional[Dict[Tuple[str, int], int]] = None
    offset_ticks: Optional[Dict[int, int]] = None


def with_tables(p: wasmprof.Profile, salt: int) -> wasmprof.Profile:
    nodes = []
    for n in p.nodes:
        fields = {k: getattr(n, k) for k in Node.__dataclass_fields__}
        lines = {("k.c", 10 + (n.func or 0)): n.self_ticks, ("k.c", 99): salt} if n.self_ticks else None
        nodes.append(LineNode(**fields, line_ticks=lines, offset_ticks={n.id * 3: n.calls + salt}))
    return wasmprof.Profile(nodes, module_name=p.module_name, cost_model=p.cost_model, metrics=p.metrics)


def test_per_node_tables_are_carried_and_summed(runs):
    a, b = with_tables(runs[4], 1), with_tables(runs[5], 2)
    total = loads(dumps(a)) + loads(dumps(b))
    assert {"line_ticks", "offset_ticks"} <= set(total.counter_names)
    assert total.to_profile() == canonical(runs[4].merge(runs[5]))  # a plain Node: the same profile
    merged = total.to_profile(node_type=LineNode)
    expected_lines: Dict[Tuple[Tuple[str, ...], Tuple[str, int]], int] = {}
    for p in (a, b):
        for path, node in p.stacks():
            for k, v in (node.line_ticks or {}).items():
                key = (tuple(x.name for x in path), k)
                expected_lines[key] = expected_lines.get(key, 0) + v
    got = {(tuple(x.name for x in path), k): v for path, node in merged.stacks()
           for k, v in (node.line_ticks or {}).items()}
    assert got == expected_lines
    for node in merged.nodes[1:]:
        if node.line_ticks:
            assert sum(v for (f, line), v in node.line_ticks.items() if line != 99) == node.self_ticks
    # a reader whose Node has no such field still merges and ships them, by name
    assert loads(total.to_bytes()) == total
