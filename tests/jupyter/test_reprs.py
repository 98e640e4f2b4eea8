"""Rich HTML views (python/wasmprof/reprs.py): what Jupyter shows for a
Module, a Trap (with source lines), a Coredump and a debugger Stop."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

import wasmprof
from helpers.clang import clang_wasm
from helpers.paths import EXAMPLES
from helpers.wasm import wat2wasm

C_SOURCE = """\
int table[4];
__attribute__((noinline)) int load(int i) {
  return table[i];                     /* LOAD */
}
__attribute__((export_name("get"))) int get(int i) {
  return load(i) + 1;                  /* CALL */
}
"""


class _Balanced(HTMLParser):
    """Checks that every element opened is closed, in order."""

    VOID = {"br", "hr", "img", "meta", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()


def well_formed(html: str) -> str:
    parser = _Balanced()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org", "")  # self-contained
    return html


@pytest.fixture(scope="module")
def c_program(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("repr")
    source = folder / "table.c"
    source.write_text(C_SOURCE)
    out = folder / "table.wasm"
    r = clang_wasm([source], out, cflags=["-O1", "-g"], ldflags=["-nostartfiles", "-Wl,--no-entry"])
    assert r.returncode == 0, r.stderr
    return out


def test_module_view_lists_exports_names_and_dwarf(c_program):
    html = well_formed(wasmprof.Module.from_file(str(c_program))._repr_html_())
    assert str(c_program) in html
    assert "<td>get</td><td>func</td><td>(i32) -&gt; (i32)</td>" in html
    assert "names: yes, DWARF lines: yes" in html and ".debug_line" in html
    fib = well_formed(wasmprof.Module.from_file(str(EXAMPLES / "fib.wasm"))._repr_html_())
    assert "names: yes, DWARF lines: no" in fib and "<td>fib_iter</td>" in fib


def test_module_view_says_how_to_keep_names():
    from wasmprof.build_hints import NO_NAMES

    stripped = wat2wasm('(module (func (export "f")))').split(b"\x00\x04name")[0]  # no name section
    html = well_formed(wasmprof.Module(stripped)._repr_html_())
    assert "names: no" in html and NO_NAMES.split(",")[0] in html


def test_trap_view_shows_frames_with_their_source(c_program):
    inst = wasmprof.Instance(wasmprof.Module.from_file(str(c_program)))
    with pytest.raises(wasmprof.Trap) as info:
        inst.exports.get(0x1000000)  # 64 MiB past the table: beyond the memory
    html = well_formed(info.value._repr_html_())
    assert "Trap (memory_oob): out of bounds memory access" in html
    assert "<b>load</b>" in html and "<b>get</b>" in html
    # the trapping line, highlighted, with its neighbours
    assert '<span class="hot">    3    return table[i];                     /* LOAD */</span>' in html
    assert '<span class="hot">    6    return load(i) + 1;                  /* CALL */</span>' in html


def test_coredump_view_shows_frames_locals_and_memory(tmp_path):
    binary = wat2wasm("""(module (memory 1) (data (i32.const 16) "hello")
      (func $f (param $x i32) (local $y i64) (local.set $y (i64.const 7))
        (i32.const 3) (i32.div_u (local.get $x) (i32.const 0)) (drop) (drop))
      (func (export "go") (call $f (i32.const 41))))""")
    module = wasmprof.Module(binary)
    inst = wasmprof.Instance(module, coredump=tmp_path / "c.core")
    with pytest.raises(wasmprof.Trap):
        inst.exports.go()
    dump = wasmprof.coredump.load(tmp_path / "c.core", module=module)
    html = well_formed(dump._repr_html_())
    assert "2 frames" in html
    assert "<td>#0</td><td>f [func 0]</td>" in html and "x = i32 41, y = i64 7" in html  # locals by name
    assert "68 65 6c 6c 6f" in html  # "hello" at 16


def test_stop_view_shows_the_frame_and_locals():
    inst = wasmprof.Instance(wasmprof.Module.from_file(str(EXAMPLES / "fib.wasm")))
    dbg = inst.debug()
    dbg.call("fib_iter", 10)
    dbg.step(5)
    stop = dbg.step()
    html = well_formed(stop._repr_html_())
    assert "fib_iter" in html and "<th>local</th>" in html
    assert all(f"<td>{loc.label}</td>" in html for loc in stop.frame.locals)
