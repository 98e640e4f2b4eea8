"""Source-line profiles: exact ticks per instruction and per source line.

Per-instruction counts against the reference interpreter (traps and folded
frames included); C and Rust programs built with -g: per-line ticks that sum
to each function's self ticks and to the total, inlined code attributed as
llvm-symbolizer says, function declarations, and the outputs people read
them in (callgrind_annotate --auto=yes, go tool pprof -list, the annotated
source page, the CLI)."""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import wasmprof
from helpers.clang import clang_wasm
from helpers.env import native_env
from helpers.paths import EXAMPLES, ROOT
from helpers.profile_checks import write_wasm
from wasmprof.profiles.model import ENTRY, Profile

PROGRAMS = ROOT / "tests" / "programs"
C_SRC = PROGRAMS / "lines_prog.c"
H_SRC = PROGRAMS / "lines_helper.h"
RS_SRC = PROGRAMS / "lines_rs.rs"


def marker_line(path: Path, marker: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return i
    raise AssertionError(f"{marker} not in {path}")


def same_file(a: str, b: Path) -> bool:
    return os.path.normpath(a) == os.path.normpath(str(b))


@pytest.fixture(scope="module")
def c_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("clang") is None:
        pytest.skip("clang is needed")
    out = tmp_path_factory.mktemp("lines_c") / "lines_prog.wasm"
    proc = clang_wasm([C_SRC], out, cflags=["-O1", "-g"])
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def rs_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rustc = "/usr/bin/rustc" if os.path.exists("/usr/bin/rustc") else shutil.which("rustc")
    if rustc is None:
        pytest.skip("rustc is needed")
    out = tmp_path_factory.mktemp("lines_rs") / "lines_rs.wasm"
    proc = subprocess.run([rustc, "--target", "wasm32-wasi", "-g", "-C", "opt-level=0", "--edition", "2021",
                           str(RS_SRC), "-o", str(out)], capture_output=True, text=True, env=native_env(),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def c_profile(c_wasm: Path, n: int = 1000, **kw) -> Profile:
    prof = wasmprof.profile(c_wasm, wasi=wasmprof.Wasi(args=["lines", str(n)], stdout=bytearray()), **kw)
    assert prof.trap is None and prof.exit_code in (None, 0)
    return prof


def check_sums(prof: Profile) -> None:
    """Per-line (and per-instruction) ticks add up to each function's self ticks and to the total."""
    assert prof.has_offsets
    for f in prof.functions():
        key = f.func if f.func is not None else f.name
        assert sum(r.ticks for r in prof.lines(func=key)) == f.self_ticks, f.name
        assert sum(r.ticks for r in prof.offsets(func=key)) == f.self_ticks, f.name
    assert sum(r.ticks for r in prof.lines()) == prof.total_ticks
    for n in prof.nodes:
        assert sum(r.ticks for r in prof.lines(node=n)) == n.self_ticks


# ---- per-instruction counts are exact (the reference interpreter) ----------------------------

needs_objdump = pytest.mark.skipif(shutil.which("wasm-objdump") is None, reason="wabt's wasm-objdump is needed")


def per_path_offsets(prof: Profile) -> Dict[Tuple[Tuple[int, ...], int], List[int]]:
    out: Dict[Tuple[Tuple[int, ...], int], List[int]] = {}
    for node, _ in prof.walk():
        if node.id == 0:
            assert not node.offsets
            continue
        path = tuple(n.func for n in prof.path(node))
        for off, (ticks, count, _calls) in (node.offsets or {}).items():
            out[(path, off)] = [count, ticks]
    return out


@needs_objdump
@pytest.mark.parametrize("cost", [None, {"i32.add": 3, "call": 7, "default": 2, "per_call": 5}])
@pytest.mark.parametrize("n", [1, 60])
def test_kernel_instructions_match_reference(cost, n):
    from helpers.reference import Reference

    kw = {} if cost is None else dict(costs={k: v for k, v in cost.items() if k not in ("default", "per_call")},
                                      default_cost=cost["default"], per_call=cost["per_call"])
    ref = Reference(str(EXAMPLES / "kernel.wasm"), **kw)
    ref.call("run", [n])
    prof = wasmprof.profile(EXAMPLES / "kernel.wasm", invoke="run", args=(n,), cost=cost)
    assert per_path_offsets(prof) == ref.insns
    assert not prof.has_lines  # no DWARF: per-instruction only
    check_sums(prof)


TRAPS_MID_BLOCK = """
(module
  (memory 1)
  (func $put (param $i i32)
    (i32.store (i32.add (i32.const 65000) (i32.shl (local.get $i) (i32.const 2))) (local.get $i))
    (drop (i32.const 1))
    (drop (i32.const 2)))
  (func (export "fill") (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $put (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
"""


@needs_objdump
def test_trap_counts_only_what_ran(tmp_path):
    from helpers.reference import RefTrap, Reference

    path = write_wasm(tmp_path, TRAPS_MID_BLOCK)
    ref = Reference(str(path))
    with pytest.raises(RefTrap):
        ref.call("fill", [1000])
    prof = wasmprof.profile(path, invoke="fill", args=(1000,))
    assert isinstance(prof.trap, wasmprof.Trap)
    assert per_path_offsets(prof) == ref.insns
    # the store trapped: the drops after it in its block never ran
    put = [n for n in prof.nodes if n.name == "func[0]" or n.func == 0][0]
    trap_off = prof.trap.offset
    assert put.offsets is not None
    after = [off for off in put.offsets if off > trap_off]
    assert put.calls == 135 and put.offsets[trap_off][1] == 135  # i = 134: 65000 + 4 * 134 + 4 > 65536
    assert len(after) >= 4 and all(put.offsets[off][1] == 134 for off in after)  # not in the trapping call
    check_sums(prof)


def test_folded_frames_keep_instructions():
    full = wasmprof.profile(EXAMPLES / "fib.wasm", invoke="fib", args=(15,))
    folded = wasmprof.profile(EXAMPLES / "fib.wasm", invoke="fib", args=(15,), max_depth=3)
    check_sums(folded)  # a node at the cap holds its folded callees' instructions
    assert {(r.func, r.offset, r.ticks) for r in folded.offsets()} == {(r.func, r.offset, r.ticks)
                                                                      for r in full.offsets()}


def test_folded_frames_keep_their_entry_price():
    cost = {"per_call": 100}
    full = wasmprof.profile(EXAMPLES / "fib.wasm", invoke="fib", args=(15,), cost=cost)
    folded = wasmprof.profile(EXAMPLES / "fib.wasm", invoke="fib", args=(15,), max_depth=3, cost=cost)
    check_sums(folded)  # the cap node holds its folded callees' entries as well as its own
    entry = [(r.name, r.count, r.ticks) for r in folded.offsets() if r.offset == ENTRY]
    calls = sum(n.calls for n in full.nodes[1:])
    assert entry == [(r.name, r.count, r.ticks) for r in full.offsets() if r.offset == ENTRY] == [("fib", calls, 100 * calls)]


def test_per_call_price_sits_on_the_entry():
    prof = wasmprof.profile(EXAMPLES / "fib.wasm", invoke="fib", args=(10,), cost={"per_call": 100})
    check_sums(prof)
    for n in prof.nodes[1:]:
        assert n.offsets is not None and n.offsets[ENTRY] == (100 * n.calls, n.calls, 0)


# ---- C with DWARF ------------------------------------------------------------------------------


def test_c_lines_sum_and_count(c_wasm):
    prof = c_profile(c_wasm, 1000)
    check_sums(prof)
    assert prof.has_lines
    rows = prof.lines(func="work")
    call_line = marker_line(C_SRC, "LINES-CALL")
    at_call = [r for r in rows if r.line == call_line and r.file and same_file(r.file, C_SRC)]
    assert at_call and sum(r.calls for r in at_call) == 1000  # square() called once per iteration
    mixed = [r for r in rows if r.function == "mix"]
    assert mixed and all(r.inlined_into == "work" for r in mixed)
    assert all(same_file(r.file, H_SRC) for r in mixed if r.line)  # line 0: code of no line (DWARF)
    assert marker_line(H_SRC, "LINES-INLINED") in {r.line for r in mixed}
    # the loop's lines scale with n, exactly
    double = c_profile(c_wasm, 2000)
    t1, t2 = prof.line_table("work"), double.line_table("work")
    mix_line = (str(H_SRC), marker_line(H_SRC, "LINES-INLINED"))
    key = [k for k in t1 if k[0] and same_file(k[0], H_SRC) and k[1] == mix_line[1]][0]
    assert t2[key][0] == 2 * t1[key][0] > 0
    sq = prof.lines(func="square")
    assert {r.line for r in sq if r.ticks} >= {marker_line(C_SRC, "LINES-SQUARE")}


def test_c_function_declarations(c_wasm):
    prof = c_profile(c_wasm, 10)
    work = [n for n in prof.nodes if n.name == "work"][0]
    assert work.location is not None
    file, line = work.location
    assert os.path.isabs(file) and same_file(file, C_SRC)  # joined with DW_AT_comp_dir
    assert line == marker_line(C_SRC, "int __attribute__((noinline)) work")


@pytest.mark.skipif(shutil.which("llvm-symbolizer") is None, reason="llvm-symbolizer is needed")
def test_inlined_attribution_matches_llvm_symbolizer(c_wasm):
    prof = c_profile(c_wasm, 10)
    module = wasmprof.Module.from_file(str(c_wasm))
    code_start = module.func_body_offset(0 + len([i for i in module.imports if i.kind == "func"]))
    # the Code section's contents start before the first body (its size LEB128 and the count)
    data = c_wasm.read_bytes()
    code_contents = _code_section_contents(data)
    assert code_contents < code_start
    offsets = sorted({r.offset for r in prof.offsets(func="work") if r.offset != ENTRY})
    query = "\n".join(hex(off - code_contents) for off in offsets) + "\n"
    out = subprocess.run(["llvm-symbolizer", f"--obj={c_wasm}", "--inlining"], input=query, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    blocks = [b.strip().splitlines() for b in out.strip().split("\n\n")]
    assert len(blocks) == len(offsets)
    inlined_seen = False
    for off, block in zip(offsets, blocks):
        theirs = [(block[i], block[i + 1]) for i in range(0, len(block), 2)]
        ours = prof.locations.get(off, ())
        if theirs[0][1].startswith("??"):
            assert not ours
            continue
        assert len(ours) == len(theirs), (hex(off), ours, theirs)
        for (file, line, function), (their_fn, their_loc) in zip(ours, theirs):
            their_file, their_line = their_loc.rsplit(":", 2)[:2]
            assert function == their_fn and line == int(their_line), (hex(off), ours, theirs)
            if int(their_line):
                assert os.path.normpath(file) == os.path.normpath(their_file)
        inlined_seen |= len(ours) > 1
    assert inlined_seen


def _code_section_contents(data: bytes) -> int:
    i = 8
    while i < len(data):
        sid = data[i]
        i += 1
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if sid == 10:
            return i
        i += n
    raise AssertionError("no Code section")


@pytest.mark.skipif(shutil.which("callgrind_annotate") is None, reason="valgrind's callgrind_annotate is needed")
def test_callgrind_annotate_shows_source_lines(c_wasm, tmp_path):
    prof = c_profile(c_wasm, 1000)
    path = tmp_path / "callgrind.out.lines"
    prof.save(path)
    out = subprocess.run(["callgrind_annotate", "--auto=yes", str(path)], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    table = prof.line_table()
    for src, marker in ((C_SRC, "LINES-CALL"), (H_SRC, "LINES-INLINED"), (C_SRC, "LINES-SQUARE")):
        ln = marker_line(src, marker)
        ticks = sum(t for (f, line), (t, _) in table.items() if f and same_file(f, src) and line == ln)
        assert ticks > 0
        text = src.read_text().splitlines()[ln - 1].strip()
        annotated = [line for line in out.splitlines() if line.rstrip().endswith(text)]
        assert annotated, f"{marker}: not annotated in\n{out[-3000:]}"
        assert any(line.split()[0].replace(",", "") == str(ticks) for line in annotated), (ticks, annotated)


@pytest.mark.skipif(shutil.which("go") is None, reason="go (go tool pprof) is needed")
def test_pprof_list_shows_source_lines(c_wasm, tmp_path):
    prof = c_profile(c_wasm, 1000)
    path = tmp_path / "lines.pb.gz"
    prof.save(path)
    env = dict(native_env(), HOME=str(tmp_path), GOPATH=str(tmp_path / "go"), GOFLAGS="-mod=mod",
               GOCACHE=str(tmp_path / "gocache"), PPROF_TMPDIR=str(tmp_path))
    out = subprocess.run(["go", "tool", "pprof", "-list", "^work$", "-sample_index=ticks", str(path)],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    table = prof.line_table(func="work")
    ln = marker_line(C_SRC, "LINES-CALL")
    ticks = sum(t for (f, line), (t, _) in table.items() if f and same_file(f, C_SRC) and line == ln)
    rows = [r for r in out.stdout.splitlines() if re.match(rf"\s*\S+\s+\S+\s+{ln}:", r)]
    assert rows, out.stdout
    assert rows[0].split()[0] == str(ticks), rows
    # the inlined mix() shows under its own name with its header's lines
    top = subprocess.run(["go", "tool", "pprof", "-top", "-sample_index=ticks", str(path)], capture_output=True,
                         text=True, timeout=300, env=env).stdout
    assert re.search(r"\bmix\b", top), top


def test_annotated_source_page(c_wasm, tmp_path):
    prof = c_profile(c_wasm, 1000)
    path = tmp_path / "prog.lines.html"
    assert prof.save(path) == "lines-html"
    html = path.read_text()
    ln = marker_line(C_SRC, "LINES-CALL")
    text = C_SRC.read_text().splitlines()[ln - 1]
    ticks = prof.line_table()[(str([f for f, _ in prof.line_table() if f and same_file(f, C_SRC)][0]), ln)][0]
    row = [r for r in html.split("<tr") if text.strip().split("/*")[0].strip() in r and f">{ln}<" in r]
    assert row and f"{ticks:,}" in row[0] and "background: rgb(" in row[0]
    # moved sources are found through source_dirs
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(C_SRC, moved / "lines_prog.c")
    from wasmprof.profiles.render import source_lines

    assert source_lines.find_source("/nowhere/tests/programs/lines_prog.c", [str(moved)]) == str(
        moved / "lines_prog.c")


def test_json_merge_and_diff_keep_lines(c_wasm, tmp_path):
    a, b = c_profile(c_wasm, 100), c_profile(c_wasm, 300)
    again = Profile.from_json(a.to_json())
    assert again == a and again.lines() == a.lines()
    assert json.loads(a.to_json())["version"] == 2
    merged = a.merge(b)
    check_sums(merged)
    ta, tb, tm = a.line_table(), b.line_table(), merged.line_table()
    for k in tm:
        assert tm[k][0] == ta.get(k, (0, 0))[0] + tb.get(k, (0, 0))[0]
    d = a.diff(b)
    rows = d.lines("work")
    la = {(r.file, r.line, r.function): r.ticks for r in a.lines("work")}
    lb = {(r.file, r.line, r.function): r.ticks for r in b.lines("work")}
    assert rows and {(r.file, r.line, r.function): (r.ticks_before, r.ticks_after) for r in rows} == {
        k: (la.get(k, 0), lb.get(k, 0)) for k in set(la) | set(lb)}
    assert rows[0].ticks_delta > 0
    # a version 1 file (no lines) still loads
    old = json.loads(a.to_json())
    old["version"] = 1
    for n in old["nodes"]:
        n.pop("offsets")
    old.pop("locations")
    assert not Profile.from_dict(old).has_offsets


def test_speedscope_and_firefox_frames_have_file_and_line(c_wasm):
    prof = c_profile(c_wasm, 10)
    work_line = marker_line(C_SRC, "int __attribute__((noinline)) work")
    ss = json.loads(prof.render("speedscope"))
    frames = [f for f in ss["shared"]["frames"] if f["name"] == "work"]
    assert frames and same_file(frames[0]["file"], C_SRC) and frames[0]["line"] == work_line
    ff = prof.render("firefox")
    assert str(work_line) in ff and "lines_prog.c" in ff


def test_pprof_locations_carry_the_inlined_chain(c_wasm):
    prof = c_profile(c_wasm, 10)
    raw = gzip.decompress(prof.render("pprof"))
    # mix and its header file are in the string table: Line entries name the inlined function
    assert b"mix" in raw and b"lines_helper.h" in raw


# ---- Rust with DWARF -----------------------------------------------------------------------------


def test_rust_lines(rs_wasm):
    prof = wasmprof.profile(rs_wasm, wasi=wasmprof.Wasi(args=["lines", "500"], stdout=bytearray()))
    assert prof.trap is None
    check_sums(prof)
    ln = marker_line(RS_SRC, "LINES-RS-LOOP")
    loop = [r for r in prof.lines() if r.file and same_file(r.file, RS_SRC) and r.line == ln]
    assert loop and sum(r.ticks for r in loop) > 500  # at least one instruction per iteration
    fn = [n for n in prof.nodes if "triangle" in n.name]
    assert fn and fn[0].location is not None and same_file(fn[0].location[0], RS_SRC)


# ---- without DWARF, and the command line ---------------------------------------------------------


def test_without_dwarf_offsets_remain():
    prof = wasmprof.profile(EXAMPLES / "kernel.wasm", invoke="run", args=(100,))
    assert prof.has_offsets and not prof.has_lines
    check_sums(prof)
    rows = prof.lines(func="partition")
    assert len(rows) == 1 and rows[0].file is None
    offs = prof.offsets(func="partition")
    assert len(offs) > 5 and all(r.offset > 0 for r in offs)


def test_cli_lines_and_annotated_source(c_wasm, tmp_path):
    out = tmp_path / "prog.svg"
    proc = subprocess.run([sys.executable, "-m", "wasmprof", "profile", str(c_wasm), "--lines", "5", "-o", str(out),
                           "--", "1000"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"lines_helper\.h:\d+\s+mix \(inlined into work\)", proc.stdout), proc.stdout
    assert (tmp_path / "prog.lines.html").is_file() and "wrote" in proc.stderr
    assert out.is_file()
