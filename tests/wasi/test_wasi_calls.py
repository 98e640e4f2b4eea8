"""WASI preview1 functions called directly from a small module that
re-exports them (no libc in between): bad pointers give errno `fault`
(never a crash or a trap), sandbox escapes give `perm` as in wasmtime,
unimplemented functions give `nosys`, proc_exit raises wasmprof.Exit, and
the Python stream adapters (bytes, bytearray, text and binary files, host
descriptors) carry the data."""
from __future__ import annotations

import io
import os
import struct
import sys
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

import wasmprof
from helpers.wasm import wat2wasm

WASI = "wasi_snapshot_preview1"
EFAULT, EINVAL, EBADF, ENOENT, ENOSYS, EPERM, ENOTDIR, ENAMETOOLONG, ELOOP = 21, 28, 8, 44, 52, 63, 54, 37, 32
EEXIST = 20
MEM = 65536

# name -> (params, has result)
SIGS: Dict[str, Tuple[str, bool]] = {
    "args_get": ("ii", True),
    "args_sizes_get": ("ii", True),
    "environ_get": ("ii", True),
    "environ_sizes_get": ("ii", True),
    "clock_time_get": ("iIi", True),
    "clock_res_get": ("ii", True),
    "random_get": ("ii", True),
    "fd_write": ("iiii", True),
    "fd_read": ("iiii", True),
    "fd_pwrite": ("iiiIi", True),
    "fd_seek": ("iIii", True),
    "fd_close": ("i", True),
    "fd_fdstat_get": ("ii", True),
    "fd_filestat_get": ("ii", True),
    "fd_prestat_get": ("ii", True),
    "fd_prestat_dir_name": ("iii", True),
    "fd_readdir": ("iiiIi", True),
    "fd_renumber": ("ii", True),
    "path_open": ("iiiiiIIii", True),
    "path_create_directory": ("iii", True),
    "path_filestat_get": ("iiiii", True),
    "path_symlink": ("iiiii", True),
    "path_filestat_set_times": ("iiiiIIi", True),
    "path_remove_directory": ("iii", True),
    "path_unlink_file": ("iii", True),
    "path_readlink": ("iiiiii", True),
    "poll_oneoff": ("iiii", True),
    "sched_yield": ("", True),
    "proc_raise": ("i", True),
    "sock_recv": ("iiiiii", True),
    "sock_shutdown": ("ii", True),
    "proc_exit": ("i", False),
}


def _module_text() -> str:
    ty = {"i": "i32", "I": "i64"}
    lines = ["(module"]
    for name, (params, result) in SIGS.items():
        ps = " ".join(ty[c] for c in params)
        res = "(result i32)" if result else ""
        lines.append(f'  (import "{WASI}" "{name}" (func ${name} (param {ps}) {res}))')
    lines.append('  (memory (export "memory") 1)')
    for name, (params, result) in SIGS.items():
        ps = " ".join(ty[c] for c in params)
        res = "(result i32)" if result else ""
        gets = " ".join(f"local.get {i}" for i in range(len(params)))
        lines.append(f'  (func (export "{name}") (param {ps}) {res} {gets} call ${name})')
    lines.append(")")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def module() -> wasmprof.Module:
    return wasmprof.Module(wat2wasm(_module_text()))


class Guest:
    """An instance of the re-exporting module with helpers to place data in its memory."""

    def __init__(self, module: wasmprof.Module, wasi: wasmprof.Wasi) -> None:
        self.instance = wasmprof.Instance(module, wasi=wasi)
        self.mem = self.instance.exports.memory
        self.f = self.instance.exports

    def put(self, addr: int, data: bytes) -> Tuple[int, int]:
        self.mem.write(addr, data)
        return addr, len(data)

    def u32(self, addr: int) -> int:
        return struct.unpack("<I", self.mem.read(addr, 4))[0]

    def u64(self, addr: int) -> int:
        return struct.unpack("<Q", self.mem.read(addr, 8))[0]

    def open(self, dirfd: int, path: bytes, oflags: int = 0, rights: int = (1 << 30) - 1, follow: int = 1) -> Tuple[int, int]:
        p, n = self.put(1000, path)
        rc = self.f.path_open(dirfd, follow, p, n, oflags, rights, rights, 0, 900)
        return rc, self.u32(900)


@pytest.fixture
def box(tmp_path: Path) -> Path:
    (tmp_path / "outside.txt").write_text("secret\n")
    root = tmp_path / "box"
    root.mkdir()
    (root / "inside.txt").write_text("inside\n")
    (root / "sub").mkdir()
    os.symlink("../outside.txt", root / "rel_link")
    os.symlink("/etc/passwd", root / "abs_link")
    os.symlink("sub", root / "sub_link")
    return root


@pytest.fixture(params=["openat2", "walk"])
def resolution(request, monkeypatch) -> str:
    """Both path resolutions: the kernel's (openat2) and the portable walk."""
    if request.param == "walk":
        monkeypatch.setenv("WASMPROF_WASI_NO_OPENAT2", "1")
    else:
        monkeypatch.delenv("WASMPROF_WASI_NO_OPENAT2", raising=False)
    return request.param


def guest(module, **kw: Any) -> Guest:
    return Guest(module, wasmprof.Wasi(**kw))


# ---- bad pointers --------------------------------------------------------------------------------


def test_bad_pointers_return_fault(module, box):
    out = bytearray()
    g = guest(module, args=["prog", "arg"], env={"K": "V"}, preopens={"/box": str(box)}, stdout=out)
    f = g.f
    assert f.args_sizes_get(MEM - 2, 0) == EFAULT
    assert f.args_get(MEM, 0) == EFAULT
    assert f.args_get(0, MEM - 3) == EFAULT  # the strings do not fit
    assert f.environ_get(0xFFFFFFFF - 1, 0) == EFAULT
    assert f.clock_time_get(1, 0, MEM - 7) == EFAULT
    assert f.random_get(MEM - 10, 11) == EFAULT
    assert f.random_get(0xFFFFFFFF, 2) == EFAULT
    # an iovec array past the end, and an iovec whose buffer is past the end: nothing written
    assert f.fd_write(1, MEM - 4, 1, 0) == EFAULT
    g.put(16, struct.pack("<II", MEM - 2, 8))
    assert f.fd_write(1, 16, 1, 0) == EFAULT
    g.put(16, struct.pack("<II", 100, 3))
    g.put(100, b"ok\n")
    assert f.fd_write(1, 16, 1, MEM) == EFAULT  # result pointer
    assert out == b""
    assert f.fd_write(1, 16, 1, 32) == 0 and g.u32(32) == 3 and out == b"ok\n"
    assert f.fd_read(0, 16, 0xFFFFFFFF, 0) in (EFAULT, EINVAL)
    # path_open with a bad result pointer creates nothing
    p, n = g.put(1000, b"created.txt")
    assert f.path_open(3, 1, p, n, 1, 0x7F, 0x7F, 0, MEM) == EFAULT
    assert f.path_open(3, 1, MEM - 4, 8, 1, 0x7F, 0x7F, 0, 900) == EFAULT
    assert not (box / "created.txt").exists()
    assert f.fd_prestat_dir_name(3, MEM - 1, 4) == EFAULT
    assert f.fd_readdir(3, MEM - 8, 64, 0, 900) == EFAULT
    assert f.poll_oneoff(MEM - 8, 0, 1, 900) == EFAULT
    assert f.path_readlink(3, p, n, MEM - 1, 10, 900) == EFAULT


def test_unimplemented_and_misc(module):
    g = guest(module)
    assert g.f.sock_recv(0, 0, 0, 0, 0, 0) == ENOSYS
    assert g.f.sock_shutdown(0, 0) == ENOSYS
    assert g.f.proc_raise(9) == ENOSYS
    assert g.f.sched_yield() == 0
    assert g.f.clock_time_get(99, 0, 0) == EINVAL
    assert g.f.fd_close(77) == EBADF
    assert g.f.fd_prestat_get(0, 0) == EBADF  # stdin is not a preopen
    assert g.f.poll_oneoff(0, 0, 0, 0) == EINVAL


def test_unknown_wasi_import_is_a_link_error():
    text = f'(module (import "{WASI}" "no_such_function" (func (param i32) (result i32))))'
    with pytest.raises(wasmprof.LinkError, match="no_such_function"):
        wasmprof.Instance(wasmprof.Module(wat2wasm(text)), wasi=wasmprof.Wasi())


def test_wrong_signature_is_a_link_error():
    text = f'(module (import "{WASI}" "fd_close" (func (param i64) (result i32))))'
    with pytest.raises(wasmprof.LinkError):
        wasmprof.Instance(wasmprof.Module(wat2wasm(text)), wasi=wasmprof.Wasi())


def test_other_imports_come_from_the_dict():
    text = f"""(module (import "{WASI}" "sched_yield" (func $y (result i32)))
                 (import "env" "twice" (func $t (param i32) (result i32)))
                 (func (export "go") (result i32) (i32.add (call $y) (call $t (i32.const 21)))))"""
    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(text)), {"env": {"twice": lambda x: 2 * x}}, wasi=wasmprof.Wasi())
    assert inst.exports.go() == 42


# ---- clocks, random, poll --------------------------------------------------------------------------


def test_clock_random_poll(module):
    g = guest(module)
    assert g.f.clock_res_get(1, 8) == 0 and 0 < g.u64(8) <= 10**6
    assert g.f.clock_time_get(1, 0, 16) == 0
    t0 = g.u64(16)
    assert g.f.random_get(100, 64) == 0
    first = g.mem.read(100, 64)
    assert g.f.random_get(100, 64) == 0
    assert g.mem.read(100, 64) != first
    # one relative clock subscription of 5 ms, and one with a bad clock id
    sub = struct.pack("<QB7xIxxxxQQH6x", 0xABC, 0, 1, 5_000_000, 0, 0)
    g.put(200, sub)
    assert g.f.poll_oneoff(200, 400, 1, 500) == 0 and g.u32(500) == 1
    userdata, error, kind = struct.unpack("<QHB", g.mem.read(400, 11))
    assert (userdata, error, kind) == (0xABC, 0, 0)
    assert g.f.clock_time_get(1, 0, 16) == 0 and g.u64(16) - t0 >= 5_000_000
    g.put(200 + 48, struct.pack("<QB7xIxxxxQQH6x", 0xDEF, 0, 42, 1, 0, 0))
    assert g.f.poll_oneoff(200, 400, 2, 500) == 0
    events = {struct.unpack("<QH", g.mem.read(400 + 32 * i, 10)) for i in range(g.u32(500))}
    assert (0xDEF, EINVAL) in events


# ---- proc_exit ----------------------------------------------------------------------------------------


def test_proc_exit_raises_exit(module):
    g = guest(module)
    with pytest.raises(wasmprof.Exit) as info:
        g.f.proc_exit(17)
    assert info.value.code == 17
    assert isinstance(info.value, wasmprof.Error)
    # the instance stays usable
    assert g.f.sched_yield() == 0


def test_run_returns_exit_code(tmp_path):
    text = f"""(module (import "{WASI}" "proc_exit" (func $exit (param i32)))
                 (memory (export "memory") 1)
                 (func (export "_start") (call $exit (i32.const 5)) unreachable)
                 (func (export "other") (call $exit (i32.const 6)) unreachable)
                 (func (export "fine")))"""
    path = tmp_path / "exit.wasm"
    path.write_bytes(wat2wasm(text))
    assert wasmprof.run(path) == 5
    assert wasmprof.run(str(path), invoke="other") == 6
    assert wasmprof.run(wasmprof.Module.from_file(path), invoke="fine") == 0


# ---- sandbox -------------------------------------------------------------------------------------------


def test_sandbox_raw_paths(module, box, resolution):
    g = guest(module, preopens={"/box": str(box)})
    assert g.f.fd_prestat_get(3, 8) == 0 and g.u32(12) == len("/box")
    assert g.f.fd_prestat_dir_name(3, 16, 4) == 0 and g.mem.read(16, 4) == b"/box"
    assert g.f.fd_prestat_dir_name(3, 16, 3) == ENAMETOOLONG
    for path in (b"../outside.txt", b"/etc/passwd", b"sub/../../outside.txt", b"rel_link", b"abs_link",
                 b"sub_link/../../outside.txt", b"/", b".."):
        for oflags, follow in ((0, 1), (1, 1), (0, 0)):
            rc, _ = g.open(3, path, oflags=oflags, follow=follow)
            assert rc in (EPERM, ELOOP), (path, oflags, follow, rc)
            if rc == ELOOP:  # not following a final symlink: refused without looking outside
                assert follow == 0 and path.endswith(b"link")
    # escaping the sandbox with other operations
    p, n = g.put(1000, b"../made")
    assert g.f.path_create_directory(3, p, n) == EPERM
    assert not (box.parent / "made").exists()
    p, n = g.put(1000, b"rel_link")
    assert g.f.path_filestat_get(3, 1, p, n, 2000) == EPERM
    assert g.f.path_filestat_get(3, 0, p, n, 2000) == 0 and g.mem.read(2016, 1) == b"\x07"  # the link itself
    t, tn = g.put(1100, b"/etc")
    p, n = g.put(1000, b"new_abs_link")
    assert g.f.path_symlink(t, tn, 3, p, n) == EPERM
    # inside is fine, through .. and symlinks that stay inside
    for path in (b"inside.txt", b"sub/../inside.txt", b"sub_link/../inside.txt", b"./sub/./../inside.txt"):
        rc, fd = g.open(3, path)
        assert rc == 0, path
        g.put(16, struct.pack("<II", 100, 64))
        assert g.f.fd_read(fd, 16, 1, 32) == 0
        assert g.mem.read(100, g.u32(32)) == b"inside\n"
        assert g.f.fd_close(fd) == 0
    assert (box.parent / "outside.txt").read_text() == "secret\n"
    assert sorted(p.name for p in box.parent.iterdir()) == ["box", "outside.txt"]


def test_sandbox_trailing_slash_after_a_symlink(module, box, resolution):
    """"link/" makes the kernel follow link even under O_NOFOLLOW and AT_SYMLINK_NOFOLLOW: a link
    to a folder outside must not be opened, listed, stat'ed or re-dated through it (it once was)."""
    outside = box.parent / "outsidedir"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    os.utime(outside, ns=(10**18, 10**18))
    os.symlink("../outsidedir", box / "escape")
    g = guest(module, preopens={"/box": str(box)})
    for path in (b"escape/", b"escape//", b"sub_link/../escape/"):
        for follow in (0, 1):
            assert g.open(3, path, oflags=2, follow=follow)[0] == EPERM, (path, follow)
            assert g.open(3, path, follow=follow)[0] == EPERM, (path, follow)
            p, n = g.put(1000, path)
            assert g.f.path_filestat_get(3, follow, p, n, 2000) == EPERM, (path, follow)
            assert g.f.path_filestat_set_times(3, follow, p, n, 0, 0, 1 | 4) == EPERM, (path, follow)
        assert g.f.path_remove_directory(3, p, n) == EPERM
        assert g.f.path_unlink_file(3, p, n) == EPERM
        assert g.f.path_create_directory(3, p, n) == EEXIST  # names a new entry: the kernel refuses "link/"
    assert os.stat(outside).st_mtime_ns == 10**18 and os.listdir(outside) == ["secret.txt"]
    # a link to a folder inside still works with its slash, and the slash still asks for a directory
    assert g.open(3, b"sub_link/", oflags=2, follow=0)[0] == 0
    assert g.open(3, b"inside.txt/")[0] == ENOTDIR


def test_sandbox_file_is_not_a_directory(module, box):
    g = guest(module, preopens={"/box": str(box)})
    rc, fd = g.open(3, b"inside.txt")
    assert rc == 0
    p, n = g.put(1000, b"x")
    assert g.f.path_create_directory(fd, p, n) == ENOTDIR
    assert g.f.path_create_directory(0, p, n) == ENOTDIR  # a stream
    assert g.f.path_create_directory(99, p, n) == EBADF


def test_readdir_small_buffers(module, box):
    names = {f"entry_{i:03d}_with_a_longish_name" for i in range(30)}
    for name in names:
        (box / "sub" / name).write_text("x")
    g = guest(module, preopens={"/box": str(box)})
    rc, fd = g.open(3, b"sub", oflags=2)
    assert rc == 0
    seen, cookie = [], 0
    while True:
        assert g.f.fd_readdir(fd, 3000, 100, cookie, 900) == 0
        used = g.u32(900)
        data = g.mem.read(3000, used)
        pos = 0
        while pos + 24 <= used:
            d_next, _ino, namlen, _type = struct.unpack("<QQIB", data[pos:pos + 21])
            if pos + 24 + namlen > used:
                break
            seen.append(data[pos + 24:pos + 24 + namlen].decode())
            cookie = d_next
            pos += 24 + namlen
        if used < 100:
            break
    assert seen[:2] == [".", ".."]
    assert set(seen[2:]) == names and len(seen) == len(names) + 2


# ---- fd_renumber, fdstat -------------------------------------------------------------------------------


def test_renumber_and_fdstat(module, box):
    g = guest(module, preopens={"/box": str(box)})
    rc, fd = g.open(3, b"inside.txt")
    assert rc == 0
    assert g.f.fd_fdstat_get(fd, 64) == 0 and g.mem.read(64, 1) == b"\x04"  # regular file
    assert g.f.fd_fdstat_get(3, 64) == 0 and g.mem.read(64, 1) == b"\x03"  # directory
    assert g.f.fd_renumber(fd, 3) == 0
    assert g.f.fd_prestat_get(3, 8) == EBADF  # fd 3 is the file now
    assert g.f.fd_filestat_get(3, 64) == 0 and g.u64(64 + 32) == len("inside\n")
    assert g.f.fd_close(fd) == EBADF


# ---- Python streams --------------------------------------------------------------------------------------


def _echo(module, stdin: Any, stdout: Any, stderr: Any = None) -> None:
    g = guest(module, stdin=stdin, stdout=stdout, stderr=stderr)
    g.put(16, struct.pack("<II", 100, 200))
    assert g.f.fd_read(0, 16, 1, 32) == 0
    n = g.u32(32)
    g.put(16, struct.pack("<II", 100, n))
    assert g.f.fd_write(1, 16, 1, 32) == 0 and g.u32(32) == n
    assert g.f.fd_write(2, 16, 1, 32) == 0


def test_streams_bytes_and_bytearray(module):
    out, err = bytearray(), bytearray()
    _echo(module, b"h\xc3\xa9llo \xff", out, err)
    assert out == err == b"h\xc3\xa9llo \xff"


def test_streams_text_and_binary_files(module, tmp_path):
    text = io.StringIO()
    binary = io.BytesIO()
    _echo(module, io.BytesIO(b"caf\xc3\xa9"), text, binary)
    assert text.getvalue() == "café" and binary.getvalue() == b"caf\xc3\xa9"
    _echo(module, io.StringIO("text in"), binary)
    assert binary.getvalue().endswith(b"text in")


def test_streams_host_descriptors(module, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.write_bytes(b"from a descriptor")
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        _echo(module, fin.fileno(), fout.fileno(), fout.fileno())
    assert dst.read_bytes() == b"from a descriptor" * 2


def test_stream_callback_errors_are_io_errors(module, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    class Broken(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            raise OSError("disk on fire")

    g = guest(module, stdout=Broken())
    g.put(16, struct.pack("<II", 100, 4))
    assert g.f.fd_write(1, 16, 1, 32) == 29  # io
    assert len(reported) == 1 and "disk on fire" in str(reported[0].exc_value)


def test_explicit_wasi_functions_win(module):
    g = Guest(module, wasmprof.Wasi())
    # random_get given explicitly: deterministic bytes written through the caller's memory
    text = f"""(module (import "{WASI}" "random_get" (func $r (param i32 i32) (result i32)))
                 (import "{WASI}" "sched_yield" (func $y (result i32)))
                 (memory (export "memory") 1)
                 (func (export "go") (result i32) (drop (call $y)) (call $r (i32.const 8) (i32.const 4))))"""
    calls = []

    def fake_random(ptr: int, n: int) -> int:
        calls.append((ptr, n))
        return 0

    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(text)), {WASI: {"random_get": fake_random}},
                             wasi=wasmprof.Wasi())
    assert inst.exports.go() == 0 and calls == [(8, 4)]
    del g


def test_exit_during_start_function():
    text = f"""(module (import "{WASI}" "proc_exit" (func $exit (param i32)))
                 (func $s (call $exit (i32.const 12))) (start $s))"""
    with pytest.raises(wasmprof.Exit) as info:
        wasmprof.Instance(wasmprof.Module(wat2wasm(text)), wasi=wasmprof.Wasi())
    assert info.value.code == 12


def test_exit_through_a_python_host_function():
    """guest -> Python import -> guest export -> proc_exit: Exit reaches the outermost caller."""
    text = f"""(module (import "{WASI}" "proc_exit" (func $exit (param i32)))
                 (import "env" "callback" (func $cb))
                 (func (export "outer") (call $cb) unreachable)
                 (func (export "inner") (call $exit (i32.const 33))))"""
    box = {}

    def callback() -> None:
        box["instance"].exports.inner()

    inst = wasmprof.Instance(wasmprof.Module(wat2wasm(text)), {"env": {"callback": callback}}, wasi=wasmprof.Wasi())
    box["instance"] = inst
    with pytest.raises(wasmprof.Exit) as info:
        inst.exports.outer()
    assert info.value.code == 33
    assert wasmprof.run(inst.module, invoke="outer", imports={"env": {"callback": callback}}) == 33
