"""The name section parser (csrc/observe/names.c) on hand-made sections, and demangling."""
from __future__ import annotations

import warnings

import pytest

import wasmprof
from helpers.wasm import leb_u
from helpers.builder import build, custom, name, name_map, subsection


def module_with_names(payload: bytes, nfuncs: int = 3) -> wasmprof.Module:
    return wasmprof.Module(build(nfuncs, [custom("name", payload)]).binary)


def full_payload() -> bytes:
    locals_ = leb_u(2) + leb_u(0) + name_map([(0, "x"), (3, "y")]) + leb_u(2) + name_map([(1, "z")])
    labels = leb_u(1) + leb_u(1) + name_map([(0, "outer"), (1, "inner")])
    return (subsection(0, name("mymod"))
            + subsection(1, name_map([(0, "first"), (1, "second"), (2, "third")]))
            + subsection(2, locals_)
            + subsection(3, labels)
            + subsection(4, name_map([(0, "fn_void")]))
            + subsection(5, name_map([(0, "tab")]))
            + subsection(6, name_map([(0, "mem")]))
            + subsection(7, name_map([(0, "__stack_pointer"), (5, "g5")]))
            + subsection(8, name_map([(2, "elems")]))
            + subsection(9, name_map([(1, ".rodata")]))
            + subsection(11, b"\x05whatever"))  # a later proposal's subsection: skipped


def test_every_subsection() -> None:
    m = module_with_names(full_payload())
    assert m.names_warning() is None
    assert m.name("module") == "mymod"
    assert [m.func_name(i) for i in range(4)] == ["first", "second", "third", None]
    assert m.local_name(0, 0) == "x" and m.local_name(0, 3) == "y" and m.local_name(2, 1) == "z"
    assert m.local_name(0, 1) is None and m.local_name(1, 0) is None
    assert m.name("label", 1, 1) == "inner"
    assert m.name("type", 0) == "fn_void"
    assert m.name("table", 0) == "tab"
    assert m.name("memory", 0) == "mem"
    assert m.global_name(0) == "__stack_pointer" and m.global_name(5) == "g5" and m.global_name(1) is None
    assert m.name("elem", 2) == "elems"
    assert m.name("data", 1) == ".rodata"
    with pytest.raises(ValueError):
        m.name("nonsense", 0)


def test_no_name_section() -> None:
    m = wasmprof.Module(build(2).binary)
    assert m.func_name(0) is None and m.func_raw_name(1) is None and m.names_warning() is None


def test_unsorted_map_is_still_found() -> None:
    m = module_with_names(subsection(1, name_map([(2, "c"), (0, "a"), (1, "b")])))
    assert [m.func_name(i) for i in range(3)] == ["a", "b", "c"]


def test_many_names_binary_search() -> None:
    n = 5000
    m = wasmprof.Module(build(n, [custom("name", subsection(1, name_map([(i, f"f{i}") for i in range(n)])))],
                              nops=0).binary)
    assert all(m.func_name(i) == f"f{i}" for i in range(0, n, 7))
    assert m.func_name(n) is None


MALFORMED = {
    "truncated subsection": subsection(1, name_map([(0, "a")]))[:-1],
    "subsection past end": bytes([1]) + leb_u(100) + name_map([(0, "a")]),
    "bad utf-8": subsection(1, name_map([(0, b"\xff\xfe")])),
    "out of order": subsection(1, name_map([(0, "a")])) + subsection(0, name("m")),
    "repeated": subsection(1, name_map([(0, "a")])) + subsection(1, name_map([(1, "b")])),
    "huge count": subsection(1, leb_u(0xFFFFFFF) + leb_u(0) + name("a")),
    "size mismatch": subsection(1, name_map([(0, "a")]) + b"\x00"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_section_is_ignored_with_a_warning(case: str) -> None:
    payload = subsection(0, name("ok")) + MALFORMED[case] if case != "out of order" else MALFORMED[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading must not even look at names
        m = module_with_names(payload)
    with pytest.warns(UserWarning, match="name section ignored: .* at offset 0x"):
        assert m.func_name(0) is None
    assert m.name("module") is None  # the whole section is ignored, not half of it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per module
        assert m.func_raw_name(0) is None
    assert m.names_warning().startswith("name section ignored")
    inst = wasmprof.Instance(m)  # the module is still usable
    assert inst is not None


def test_warning_says_why() -> None:
    m = module_with_names(MALFORMED["bad utf-8"])
    assert "UTF-8" in m.names_warning()
    m = module_with_names(MALFORMED["out of order"])
    assert "out of order" in m.names_warning()


DEMANGLE = [
    ("_ZN7mycrate6module8function17h0123456789abcdefE", "mycrate::module::function"),  # Rust legacy
    ("_RNvNtCs1cYnjS9ax4C_7mycrate6module8function", "mycrate::module::function"),     # Rust v0
    ("_ZN3foo3barEv", "foo::bar()"),                                                   # C++
    ("_Z3addii", "add(int, int)"),
    ("main", "main"),
    ("_Znot_mangled!", "_Znot_mangled!"),
]


def test_demangling_keeps_raw_names() -> None:
    m = module_with_names(subsection(1, name_map(list(enumerate(raw for raw, _ in DEMANGLE)))), nfuncs=len(DEMANGLE))
    for i, (raw, shown) in enumerate(DEMANGLE):
        assert m.func_raw_name(i) == raw
        assert m.func_name(i) == shown
        assert m.func_name(i) == shown  # cached


def test_func_body_offset() -> None:
    b = build(3, [])
    m = wasmprof.Module(b.binary)
    assert [m.func_body_offset(i) for i in range(3)] == b.body_starts
    with pytest.raises(IndexError):
        m.func_body_offset(3)
