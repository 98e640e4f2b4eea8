"""The debugger-independent readers of gdb/wasmprof_gdb (no GDB needed):
the name section and DWARF line tables read in Python must agree with the
core's C readers (wasmprof.Module) at every code offset of real C++ and
Rust modules, and the DWARF variables must be the sources' parameters."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import wasmprof
from helpers.gdb_tools import build_cpp_guest, build_rust_guest
from helpers.paths import ROOT
from helpers.wasm import imported_func_count, read_leb_u, sections

sys.path.insert(0, str(ROOT / "gdb"))
from wasmprof_gdb.dwarf_lines import LineTable  # noqa: E402
from wasmprof_gdb.dwarf_vars import DebugInfo  # noqa: E402
from wasmprof_gdb.names import parse_names  # noqa: E402

CODE_SECTION = 10


@pytest.fixture(scope="module", params=["cpp", "rust"])
def guest(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = build_cpp_guest if request.param == "cpp" else build_rust_guest
    return build(tmp_path_factory.mktemp("layers_" + request.param))


def customs(module: wasmprof.Module) -> dict:
    return dict(module.custom_sections)


def test_names_agree_with_the_core(guest: Path) -> None:
    data = guest.read_bytes()
    module = wasmprof.Module.from_file(str(guest))
    names = parse_names(customs(module)["name"])
    assert names.warning is None
    _, start, _ = next(s for s in sections(data) if s[0] == CODE_SECTION)
    count = imported_func_count(data) + read_leb_u(data, start)[0]
    assert len(names.direct[1]) == count  # clang and rustc name every function
    for i in range(count):
        assert names.func(i) == module.func_raw_name(i), i


def test_line_tables_agree_with_the_core(guest: Path) -> None:
    data = guest.read_bytes()
    module = wasmprof.Module.from_file(str(guest))
    c = customs(module)
    info = DebugInfo(c[".debug_info"], c[".debug_abbrev"], c.get(".debug_str"), c.get(".debug_line_str"))
    assert info.comp_dirs  # relative names are joined with these, as the core joins them
    table = LineTable(c[".debug_line"], c.get(".debug_line_str"), c.get(".debug_str"), info.comp_dirs)
    assert table.warning is None
    _, start, end = next(s for s in sections(data) if s[0] == CODE_SECTION)
    checked = 0
    for offset in range(start, end):
        ours = table.lookup(offset - start)
        theirs = module.source_location(offset)
        if theirs is None:
            assert ours is None, offset
        else:
            assert ours is not None and (ours.file, ours.line, ours.column or None) == (theirs.file, theirs.line, theirs.column)
            checked += 1
    assert checked > 50


def test_dwarf_variables_are_the_sources_parameters(guest: Path) -> None:
    module = wasmprof.Module.from_file(str(guest))
    c = customs(module)
    info = DebugInfo(c[".debug_info"], c[".debug_abbrev"], c.get(".debug_str"), c.get(".debug_line_str"))
    found = {f.name: [(v.name, v.param, v.type_name) for v in f.variables] for f in info.functions}
    if "perimeter" in found and ("this", True, "const Shape *") in found["perimeter"]:  # C++
        assert found["perimeter"] == [("this", True, "const Shape *"), ("length", True, "int")]
        assert found["twice<int>"] == [("value", True, "int"), ("shape", False, "Shape")]
        assert found["run"] == [("n", True, "int")]
    else:  # Rust
        assert found["perimeter"] == [("sides", True, "i32"), ("length", True, "i32")]
        assert found["run"] == [("n", True, "i32")]
    for f in info.functions:
        assert f.frame_base is not None and f.frame_base.kind in ("local", "global")
