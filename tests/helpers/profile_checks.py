"""Helpers shared by the tests/profiles/test_profile_*.py files."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

from .wasm import wat2wasm


def tree_of(prof) -> Dict[Tuple[int, ...], List[int]]:
    """The profile's call tree as {path of function indices: [calls, self_ticks]} (the root left out)."""
    out: Dict[Tuple[int, ...], List[int]] = {}
    for node, _depth in prof.walk():
        if node.id == 0:
            continue
        path = []
        n = node
        while n.id != 0:
            path.append(n.func)
            n = prof.nodes[n.parent]
        out[tuple(reversed(path))] = [node.calls, node.self_ticks]
    return out


def write_wasm(tmp_path: Path, text: str, name: str = "m.wasm") -> Path:
    path = tmp_path / name
    path.write_bytes(wat2wasm(text))
    return path


def check_invariants(prof) -> None:
    """The model's invariants (docs/profile-model.md) that the profiler guarantees."""
    nodes = prof.nodes
    assert prof.root.parent == -1 and prof.root.func is None
    assert prof.root.total_ticks == sum(n.self_ticks for n in nodes)
    for n in nodes:
        assert n.total_ticks == n.self_ticks + sum(nodes[c].total_ticks for c in n.children)
        for c in n.children:
            assert c > n.id and nodes[c].parent == n.id
    assert [n.id for n in nodes] == list(range(len(nodes)))
