"""Write the fuzz targets' seed corpora (fuzz/README section in README.md).

    python fuzz/make_seeds.py [--out build/fuzz/seeds] [--spec-sample N]

Seeds are made from what is beside the tree, never copied into it:
  decode, run   the spec suite's modules (../shared/wasm-spec/core, all or a
                seeded sample of N), bench/programs and examples, and a few
                random valid modules from binaryen's `wasm-opt -ttf`
  debuginfo     those with custom sections (name, DWARF), split into the
                target's records: the module without its custom sections,
                then each custom section
  wasi_path     operation sequences that try every way out of the preopen
  coredump      coredumps that wasmprof writes for trapping calls
  profile_json  profiles of the examples (with and without time, flamechart)
"""
from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC_CORE = ROOT.parent / "shared" / "wasm-spec" / "core"
TTF_SEEDS = 12  # wasm-opt -ttf modules among the run seeds


def uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def split_sections(data: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(the module without custom sections, [(name, payload), ...])."""
    base = bytearray(data[:8])
    customs = []
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, start = uleb(data, pos + 1)
        end = start + size
        if sid == 0:
            n, name_at = uleb(data, start)
            customs.append((data[name_at:name_at + n].decode("utf-8", "replace"), data[name_at + n:end]))
        else:
            base += data[pos:end]
        pos = end
    return bytes(base), customs


# fuzz_debuginfo.c's names table: a record's kind byte is an index in it (0: base module).
DEBUGINFO_NAMES = ["name", ".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str",
                   ".debug_ranges", ".debug_rnglists", ".debug_addr", ".debug_str_offsets", ".debug_loc", "producers"]


def debuginfo_seed(data: bytes) -> bytes | None:
    try:
        base, customs = split_sections(data)
    except (IndexError, UnicodeDecodeError):  # the spec's malformed modules
        return None
    records = [b"\0" + struct.pack("<I", len(base)) + base]
    for name, payload in customs:
        if name in DEBUGINFO_NAMES:
            # kind 0 is the base module, so "name" (index 0) is written as 12, which is 0 modulo 12
            kind = DEBUGINFO_NAMES.index(name) or len(DEBUGINFO_NAMES)
            records.append(bytes([kind]) + struct.pack("<I", len(payload)) + payload)
    return b"".join(records) if len(records) > 1 else None


def wasi_op(op: int, flags: int, sel: int, p1: bytes, p2: bytes = b"") -> bytes:
    return bytes([op, flags, sel, len(p1)]) + p1 + bytes([len(p2)]) + p2


def wasi_seeds() -> list[bytes]:
    """fuzz_wasi_path.c's operations: 0 open, 1 mkdir, 2 rmdir, 3 unlink, 4 rename, 5 symlink,
    6 link, 7 readlink, 8 stat, 9 readdir, 10 write, 11 close; sel >= 160 picks an opened fd."""
    escapes = [b"..", b"../outside/canary", b"/etc/hostname", b"link_out", b"link_abs", b"loop", b"dir/../../outside",
               b"link_dir/../../outside/canary", b"./././../root/a.txt", b"dir/b.txt/..", b"a.txt\0/../..", b""]
    seqs = []
    for mode in (0, 1):  # openat2, then the component walk
        for path in escapes:
            seqs.append(bytes([mode]) + wasi_op(0, 0, 0, path) + wasi_op(10, 0, 200, b"x") + wasi_op(9, 0, 200, b""))
            seqs.append(bytes([mode]) + wasi_op(0, 1 | 2, 0, path) + wasi_op(0, 0, 200, b"canary"))
            seqs.append(bytes([mode]) + wasi_op(8, 1, 0, path) + wasi_op(7, 64, 0, path))
        seqs.append(bytes([mode]) + wasi_op(5, 0, 0, b"../outside", b"esc") + wasi_op(0, 1 | 2, 0, b"esc/new")
                    + wasi_op(6, 1, 0, b"esc/canary", b"hard"))
        seqs.append(bytes([mode]) + wasi_op(4, 0, 0, b"dir", b"../moved") + wasi_op(2, 0, 0, b"dir")
                    + wasi_op(3, 0, 0, b"link_out") + wasi_op(1, 0, 0, b"new/..//x"))
        seqs.append(bytes([mode]) + wasi_op(0, 4, 0, b"dir") + wasi_op(0, 0, 200, b"b.txt") + wasi_op(11, 0, 200, b"")
                    + wasi_op(0, 0, 200, b"../a.txt"))
    return seqs


def ttf_modules(n: int) -> list[bytes]:
    if not shutil.which("wasm-opt"):
        return []
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.differential import random_module

    rng = random.Random(1)
    return [random_module(rng.randbytes(4096)) for _ in range(n)]


def coredump_seeds() -> list[bytes]:
    import wasmprof

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        kernel = wasmprof.Instance(wasmprof.Module.from_file(ROOT / "examples" / "kernel.wasm"))
        # Shallow stacks: a coredump of 50,000 frames takes seconds to read, too slow for a seed.
        fib = wasmprof.Instance(wasmprof.Module.from_file(ROOT / "examples" / "fib.wasm"),
                                limits=wasmprof.Limits(max_call_depth=40))
        for i, call in enumerate([lambda: kernel.exports.run(100_000), lambda: fib.exports.fib(-1),
                                  lambda: fib.exports.fib(10**6)]):
            try:
                call()
            except (wasmprof.Trap, wasmprof.LimitError):
                path = Path(tmp) / f"core{i}.wasm"
                wasmprof.coredump.write_last_trap(path, "seed")
                out.append(path.read_bytes())
    return out


def profile_seeds() -> list[bytes]:
    import wasmprof

    out = []
    for name, invoke, args in [("fib.wasm", "fib", [12]), ("kernel.wasm", "run", [500])]:
        path = ROOT / "examples" / name
        for kwargs in ({}, {"time": True}, {"flamechart": True}, {"flamechart": True, "sample_every": 50}):
            out.append(wasmprof.profile(path, invoke=invoke, args=args, **kwargs).to_json().encode())
    return out


def write(folder: Path, items: list[bytes]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for data in items:
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "fuzz" / "seeds")
    ap.add_argument("--spec-sample", type=int, default=0, help="a seeded sample of N spec modules (0: all)")
    ns = ap.parse_args()
    spec = sorted(SPEC_CORE.glob("*/*.wasm"))
    if ns.spec_sample:
        spec = sorted(random.Random(7).sample(spec, min(ns.spec_sample, len(spec))))
    local = sorted((ROOT / "bench" / "programs").glob("*.wasm")) + sorted((ROOT / "examples").glob("*.wasm"))
    modules = [p.read_bytes() for p in spec + local]
    ttf = ttf_modules(TTF_SEEDS)
    counts = {
        "decode": write(ns.out / "decode", modules + ttf),
        "run": write(ns.out / "run", modules + ttf),
        "debuginfo": write(ns.out / "debuginfo", [s for s in map(debuginfo_seed, modules) if s]),
        "wasi_path": write(ns.out / "wasi_path", wasi_seeds()),
        "coredump": write(ns.out / "coredump", coredump_seeds()),
        "profile_json": write(ns.out / "profile_json", profile_seeds()),
    }
    for name, n in counts.items():
        print(f"{ns.out / name}: {n} seeds")


if __name__ == "__main__":
    main()
