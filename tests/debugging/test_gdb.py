"""GDB on a C host that embeds the core (tests/c/gdb_host.c), live and from
core files: the wasm-* commands, guest frames in `bt`, the pretty-printers,
auto-loading from the .debug_gdb_scripts section, `source`, and commands
that print what they can from a corrupt core.  A real gdb runs each time
(gdb --batch -nx); the guests are built from tests/programs/ with clang -g
(C++) and rustc -g (Rust), and every offset printed is checked against the
module's bytes: it must be the `call` of the next inner frame's function."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers.c_programs import c_program
from helpers.env import native_env
from helpers.paths import ROOT
from helpers.gdb_tools import (CPP_SRC, GDB_DIR, RS_SRC, assert_in_order, assert_no_python_error, build_cpp_guest,
                                build_rust_guest, call_target, check_cpp_backtrace, core_after_abort, dumped_bytes,
                                frames, function_count, gdb_path, kernel_core_after_abort, marked, marker_line, missing,
                                output_of, poke, reserved_bytes, rss_bytes, run_gdb)

MiB = 1 << 20
ALL_COMMANDS = ("wasm-bt", "wasm-bt-full", "wasm-frame 2", "wasm-locals", "wasm-print value", "wasm-up", "wasm-down",
                "wasm-globals", "wasm-list", "wasm-instances", "bt")


@pytest.fixture(scope="module")
def host() -> Path:
    return c_program("gdb_host").resolve()  # absolute: some tests run it from another directory


@pytest.fixture(scope="module")
def cpp_guest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cpp_guest(tmp_path_factory.mktemp("gdb_cpp"))


@pytest.fixture(scope="module")
def rust_guest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rust_guest(tmp_path_factory.mktemp("gdb_rs"))


def guest_pointer(host: Path, guest: Path) -> int:
    """The guest address of the bytes the guest passes to host_cb (static data)."""
    r = subprocess.run([str(host), str(guest), "run", "stop", "4"], capture_output=True, text=True, env=native_env(),
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return int(re.search(r"host_cb ptr=(\d+)", r.stdout).group(1))


def live_cpp(host: Path, guest: Path, *commands: str) -> str:
    out = run_gdb(["break gdb_host_stop", "run", *marked(*commands)], ["--args", str(host), str(guest), "run", "stop", "4"])
    assert_no_python_error(out)
    return out


def test_live_c_host_backtrace_locals_memory(host: Path, cpp_guest: Path) -> None:
    ptr = guest_pointer(host, cpp_guest)
    out = live_cpp(host, cpp_guest, "wasm-bt", "wasm-bt-full", "wasm-frame 2", "wasm-locals", "wasm-print value",
                   "wasm-print shape", "wasm-up", "wasm-print n", "wasm-down 2", "wasm-print length",
                   "wasm-print __stack_pointer", f"wasm-mem {ptr} 19", "wasm-list", "wasm-instances",
                   "info auto-load python-scripts")
    check_cpp_backtrace(output_of(out, "wasm-bt"), cpp_guest)
    full = output_of(out, "wasm-bt-full")
    assert re.search(r"#1 .*\n\s+source variables \(DWARF\):\n\s+this \(param const Shape \*\) = 0x[0-9a-f]+\n"
                     r"\s+length \(param int\) = 5\n", full), full
    assert re.search(r"value \(param int\) = 5\n\s+shape \(Shape\) = \{03 00 00 00\}", full), full
    assert re.search(r"n \(param int\) = 4", full), full
    assert re.search(r"#0 .*host_cb.*\n\s+param0 \(param i32\) = " + str(ptr) + r"\n\s+param1 \(param i32\) = 15", full)
    assert "operand stack (bottom first, raw slots): empty" in full
    assert re.match(r"#2\s+0x[0-9a-f]+ in int twice<int>\(int\)", output_of(out, "wasm-frame 2"))
    assert f"{marker_line(CPP_SRC, 'CALL-PERIMETER')}\t  return shape.perimeter(value) * 2;" in output_of(out, "wasm-frame 2")
    assert "value (param int) = 5" in output_of(out, "wasm-locals")
    assert output_of(out, "wasm-print value").strip() == "value = 5 (int)"
    assert output_of(out, "wasm-print shape").strip() == "shape = {03 00 00 00} (Shape)"
    assert output_of(out, "wasm-up").startswith("#3  ")
    assert output_of(out, "wasm-print n").strip() == "n = 4 (int)"
    assert output_of(out, "wasm-down 2").startswith("#1  ")
    assert output_of(out, "wasm-print length").strip() == "length = 5 (int)"
    assert re.fullmatch(r"__stack_pointer = \d+ \(i32 global 0\)", output_of(out, "wasm-print __stack_pointer").strip())
    dump = output_of(out, f"wasm-mem {ptr} 19")
    assert f"{ptr:08x}  57 41 53 4d 50 52 4f 46 2d 47 44 42 2d 4d 45 4d  |WASMPROF-GDB-MEM|" in dump
    listing = output_of(out, "wasm-list")
    host_line = marker_line(CPP_SRC, "CALL-HOST")
    assert f">{host_line:<5}  return host_cb(" in listing and f" {host_line - 1:<5}" in listing
    inst = output_of(out, "wasm-instances")
    assert re.search(r"context 0x[0-9a-f]+: running a call \(entry depth 1\), 5 frames", inst)
    assert re.search(rf"instance 0x[0-9a-f]+: module .*, {function_count(cpp_guest)} functions\), memory 0: 131072 bytes",
                     inst)
    assert "wasmprof-gdb" in output_of(out, "info auto-load python-scripts")  # from .debug_gdb_scripts


def test_live_mixed_bt_and_switch(host: Path, cpp_guest: Path) -> None:
    out = live_cpp(host, cpp_guest, "bt", "set wasm-frames off", "bt", "show wasm-frames")
    mixed = output_of(out, "bt")
    order = ["gdb_host_stop", "host_cb", "[wasm #1] geometry::Shape::perimeter(int) const <func[1]+0x",
             "[wasm #2] int twice<int>(int) <func[3]+0x", "[wasm #3] run <func[2]+0x", " wp_call ", " main ("]
    positions = [mixed.find(s) for s in order]  # " main (": not the "main" of a checkout's path
    assert -1 not in positions and positions == sorted(positions), mixed
    assert "wp_loop_plain" not in mixed
    assert re.search(r"\[wasm #1\] geometry::Shape::perimeter\(int\) const <func\[1\]\+0x[0-9a-f]+> "
                     r"\(this=\d+, length=5\) at \S+gdb_guest.cpp:" + str(marker_line(CPP_SRC, "CALL-HOST")), mixed)
    off = out.split("==set wasm-frames off==")[1]
    plain = output_of(off, "bt")
    assert "wp_loop_plain" in plain and "[wasm" not in plain
    assert "Showing WebAssembly guest frames in backtraces is off." in out


def test_pretty_printers(host: Path, cpp_guest: Path) -> None:
    locate = ("python import wasmprof_gdb.gdb_front as g; f = g.session().frames[1]; "
              "gdb.set_convenience_variable('inst', f.instance.addr); gdb.set_convenience_variable('mod', f.module.addr)")
    out = live_cpp(host, cpp_guest, "print *err", "print last_arg", "print ex", "print *caller", "frame 1",
                   "print args[0]", locate, "print (wp_instance *)$inst", "print (wp_module *)$mod")
    functions = function_count(cpp_guest)
    assert output_of(out, "print *err").strip().endswith(
        "= wp_error trap: integer divide by zero (func 7, offset 0x1234)")
    assert re.search(r"= 0xf \(i32 15, i64 15, f32 2\.10\d*e-44, f64 7\.4e-323\)", output_of(out, "print last_arg"))
    assert re.search(r"= wp_exec at 0x[0-9a-f]+: 5 frames, entry depth 1, innermost host_cb", output_of(out, "print ex"))
    assert re.search(r"= 0x410 \(i32 1040,", output_of(out, "print args[0]"))
    assert re.search(r"= wp_frame 0x[0-9a-f]{6} in geometry::Shape::perimeter\(int\) const \(func\[1\]\+0x54\) at \S+:16:10",
                     output_of(out, "print *caller"))
    assert re.search(rf"= wp_instance at 0x[0-9a-f]+ of module module@0x[0-9a-f]+ \({functions} functions\)",
                     output_of(out, "print (wp_instance *)$inst"))
    assert re.search(rf"= wp_module module@0x[0-9a-f]+ at 0x[0-9a-f]+: {cpp_guest.stat().st_size} bytes, {functions} functions",
                     output_of(out, "print (wp_module *)$mod"))


def test_live_rust_names(host: Path, rust_guest: Path) -> None:
    out = run_gdb(["break gdb_host_stop", "run", *marked("wasm-bt", "wasm-bt-full")],
                  ["--args", str(host), str(rust_guest), "run", "stop", "4"])
    assert_no_python_error(out)
    got = frames(output_of(out, "wasm-bt"))
    assert [f[2] for f in got[:2]] == ["mycrate::shapes::perimeter", "run"]
    assert got[0][4].endswith("programs/gdb_guest.rs") and got[0][5] == marker_line(RS_SRC, "CALL-HOST")
    assert got[1][5] == marker_line(RS_SRC, "CALL-PERIMETER")
    assert call_target(rust_guest.read_bytes(), got[0][1]) == 0
    full = output_of(out, "wasm-bt-full")
    assert re.search(r"sides \(param i32\) = 3\n\s+length \(param i32\) = 5", full), full


def test_source_loads_the_extension(host: Path, cpp_guest: Path) -> None:
    args = ["--args", str(host), str(cpp_guest), "run", "stop", "4"]
    without = run_gdb(["break gdb_host_stop", "run", "wasm-bt"], args, auto_load=False)
    assert 'Undefined command: "wasm-bt"' in without
    out = run_gdb(["break gdb_host_stop", "run", f"source {GDB_DIR / 'wasmprof-gdb.py'}", *marked("wasm-bt")], args,
                  auto_load=False)
    assert_no_python_error(out)
    check_cpp_backtrace(output_of(out, "wasm-bt"), cpp_guest)


# ---- core files ----


@pytest.fixture(scope="module")
def c_core(host: Path, cpp_guest: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    core, out, kind = core_after_abort([str(host), str(cpp_guest), "run", "abort", "4"], tmp_path_factory.mktemp("c_core"))
    return core, rss_bytes(out), kind


def test_core_of_c_host(host: Path, cpp_guest: Path, c_core: tuple) -> None:
    core = c_core[0]
    ptr = guest_pointer(host, cpp_guest)
    out = run_gdb(marked("wasm-bt", "wasm-bt-full", "bt", f"wasm-mem {ptr} 19", "wasm-frame 3", "wasm-print n",
                         "wasm-break run"), [str(host), str(core)])
    assert_no_python_error(out)
    check_cpp_backtrace(output_of(out, "wasm-bt"), cpp_guest)
    assert "length (param int) = 5" in output_of(out, "wasm-bt-full")
    bt = output_of(out, "bt")
    assert "abort" in bt and bt.find("host_cb") < bt.find("[wasm #1] geometry::Shape::perimeter(int) const") < bt.find("main")
    assert "|WASMPROF-GDB-MEM|" in output_of(out, f"wasm-mem {ptr} 19")
    assert output_of(out, "wasm-print n").strip() == "n = 4 (int)"
    assert output_of(out, "wasm-break run").strip() == "wasm-break needs a running process: a core file does not run."


def test_core_size_near_resident_memory(c_core: tuple) -> None:
    """The guest's memory reserves 4 GiB (an unbounded memory), yet the core
    holds little more than what was resident: the reservation is excluded
    (MADV_DONTDUMP), its committed pages are not."""
    core, rss, kind = c_core
    if kind == "gcore":  # GDB leaves excluded ranges out; the kernel lists them with no bytes
        assert reserved_bytes(core) < 1 << 32
    # The slack: the context's value stack (32 MiB reserved, dumped since
    # it holds every frame's locals) and allocator arenas.
    assert dumped_bytes(core) < rss + 64 * MiB, (dumped_bytes(core), rss)
    assert core.stat().st_size < rss + 80 * MiB


def test_kernel_core_of_c_host(host: Path, cpp_guest: Path, tmp_path: Path) -> None:
    env = dict(native_env(), ASAN_OPTIONS="disable_coredump=0")  # the sanitizer build's host
    core, printed = kernel_core_after_abort([str(host), str(cpp_guest), "run", "abort", "4"], tmp_path, env)
    if core is None:
        missing("the kernel's core_pattern sends cores elsewhere on this machine (gcore cores are tested)")
    out = run_gdb(marked("wasm-bt"), [str(host), str(core)])
    assert_no_python_error(out)
    check_cpp_backtrace(output_of(out, "wasm-bt"), cpp_guest)
    # The kernel lists the excluded reservation with no bytes in the file
    # (before MADV_DONTDUMP: 4 GiB of file, sparse).
    rss = rss_bytes(printed)
    assert dumped_bytes(core) < rss + 64 * MiB, (dumped_bytes(core), rss)
    assert core.stat().st_size < rss + 80 * MiB


def addresses(host: Path, core: Path) -> dict:
    """Where the context and its frames are in the core (read through the extension itself)."""
    out = run_gdb(["python import wasmprof_gdb.gdb_front as g; s = g.session(); "
                   "print('FRAME2', s.frames[2].addr); print('EXEC', s.frames[0].ctx.addr); "
                   "print('FRAMES_FIELD', s.proc.layout.offset('wp_exec.frames'))"], [str(host), str(core)])
    return {k: int(v) for k, v in re.findall(r"^(FRAME2|EXEC|FRAMES_FIELD) (\d+)$", out, re.M)}


def test_corrupt_core_prints_what_it_can(host: Path, c_core: tuple, tmp_path: Path) -> None:
    core = c_core[0]
    where = addresses(host, core)
    # Frame 2's function pointer now points nowhere.
    bad_frame = tmp_path / "bad_frame.core"
    shutil.copy(core, bad_frame)
    poke(bad_frame, where["FRAME2"], (0xDEAD0000BEEF).to_bytes(8, "little"))
    out = run_gdb(marked(*ALL_COMMANDS, "wasm-frame 3", "wasm-locals"), [str(host), str(bad_frame)])
    assert_no_python_error(out)
    bt = output_of(out, "wasm-bt")
    assert re.search(r"#0\s+<host> host_cb", bt) and "#1  0x" in bt and "geometry::Shape::perimeter(int) const" in bt
    assert "#2  (unable to read the function of frame 2 at 0xdead0000beef)" in bt
    assert re.search(r"#3\s+0x[0-9a-f]+ in run \(func\[2\]", bt)
    assert "(unable to read" in output_of(out, "wasm-locals")
    assert "[wasm #2] (unable to read" in output_of(out, "bt")
    # The context's frame array pointer is garbage: every frame is unreadable, nothing raises.
    bad_exec = tmp_path / "bad_exec.core"
    shutil.copy(core, bad_exec)
    poke(bad_exec, where["EXEC"] + where["FRAMES_FIELD"], (0x10).to_bytes(8, "little"))
    out = run_gdb(marked(*ALL_COMMANDS), [str(host), str(bad_exec)])
    assert_no_python_error(out)
    assert "#0  (unable to read frame 4 at 0x" in output_of(out, "wasm-bt")


def test_attach_while_guest_runs(host: Path, cpp_guest: Path) -> None:
    """Stopped inside the loop itself: the running frame's instruction is in
    a register, which the commands say, and `bt` still shows it in place."""
    child = subprocess.Popen([str(host), str(cpp_guest), "spin", "stop", "1"], env=native_env())
    try:
        time.sleep(1.0)
        out = run_gdb(marked("wasm-bt", "wasm-bt-full", "bt"), ["-p", str(child.pid)])
    finally:
        child.kill()
        child.wait(timeout=60)
    assert_no_python_error(out)
    bt = output_of(out, "wasm-bt")
    assert re.match(r"#0\s+spin \(func\[\d+\]\) \(running: the loop holds its current instruction in a register\)", bt), bt
    assert re.search(r"#1\s+0x[0-9a-f]+ in spin.command_export", bt), bt
    assert "operand stack: (in registers while the frame runs)" in output_of(out, "wasm-bt-full")
    assert_in_order(output_of(out, "bt"), ["[wasm #0] spin <func[", "[wasm #1] spin.command_export", "wp_call", "main"])


def test_no_guest_running_yet(host: Path, cpp_guest: Path) -> None:
    out = run_gdb(["break wp_call", "run", *marked("wasm-bt", "wasm-instances", "wasm-locals", "bt 2")],
                  ["--args", str(host), str(cpp_guest), "run", "stop", "4"])
    assert_no_python_error(out)
    assert output_of(out, "wasm-bt").strip() == "No guest frames on this thread (no wasmprof call is running here)."
    assert re.search(r"context 0x[0-9a-f]+: idle \(entry depth 0\), 0 frames", output_of(out, "wasm-instances"))
    assert "No guest frames" in output_of(out, "wasm-locals")


def test_readme_example(tmp_path: Path) -> None:
    """README's "Debugging the host with GDB" runs as written and prints the
    frames it shows (modulo the `...` it leaves out)."""
    text = (ROOT / "README.md").read_text()
    part = text.split("## Debugging the host with GDB", 1)[1]
    script, shown = re.findall(r"```(?:sh)?\n(.*?)```", part, re.S)[:2]
    gdb_path()
    r = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=native_env(), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert_no_python_error(out)
    normalized = re.sub(r"\s+", " ", out)
    for line in shown.splitlines():
        if line.strip() and line.strip() != "...":
            assert re.sub(r"\s+", " ", line.strip()) in normalized, (line, out)
