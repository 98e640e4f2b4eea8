"""Guest state read from the inferior: execution contexts and their frame
stacks, instances, modules (names and DWARF lines from their own bytes),
memories and globals.  Every accessor returns None (or an empty list) for
what it cannot read, never raises; a Process is a snapshot for one stop of
the inferior (front ends drop it when the inferior runs)."""
from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .dwarf_lines import LineTable, SourceLocation
from .dwarf_vars import ATE_BOOLEAN, ATE_FLOAT, ATE_SIGNED, ATE_SIGNED_CHAR, DebugInfo, Location, Variable
from .layout import Layout, LayoutError, load_layout
from .names import Names, parse_names, strip_rust_hash
from .target import Mem, Target

# The interpreter loop variants (csrc/exec/loop_variants.h): the C frames that run guest frames.
LOOP_FUNCTIONS = ("wp_loop_plain", "wp_loop_ticked", "wp_loop_step")
# What the loop calls after saving the running frame's pc and sp (loop_template.h).
PC_SAVING = ("wp_exec_checkpoint", "wp_tick_stop_reached", "wp_func_code_compile")
MAX_LIST = 100_000        # contexts or instances followed at most in a list (a corrupt cycle ends)
MAX_FRAMES = 1_000_000    # frames believed at most in one context
MAX_SHOWN_SLOTS = 256     # operand-stack slots printed at most per frame
ENTRY_REACH = 1 << 20     # a wp_call entry lies at most this far above its loop's C frame

VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}


def format_value(valtype: Optional[str], bits: int) -> str:
    """A slot's value as its type shows it (wasmprof.h: numbers are bit
    patterns zero-extended to 64 bits; references are pointers or null)."""
    if valtype == "i32":
        v = bits & 0xFFFFFFFF
        return str(v - (1 << 32) if v >> 31 else v)
    if valtype == "i64":
        return str(bits - (1 << 64) if bits >> 63 else bits)
    if valtype == "f32":
        return repr(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])
    if valtype == "f64":
        return repr(struct.unpack("<d", struct.pack("<Q", bits))[0])
    if valtype in ("funcref", "externref"):
        return "null" if bits == 0 else f"{valtype} {bits:#x}"
    return f"{bits:#x}"


@dataclass
class Module:
    """A wp_module: its sections are read from the module's own bytes."""

    proc: "Process"
    addr: int
    _customs: Optional[dict] = None
    _names: Optional[Names] = None
    _lines: Optional[LineTable] = None
    _info: Optional[DebugInfo] = None
    _info_read: bool = False

    def get(self, name: str) -> Optional[int]:
        return self.proc.layout.get(self.addr, "wp_module." + name)

    def customs(self) -> dict:
        """Custom sections by name -> (payload address, length)."""
        if self._customs is None:
            lay, out = self.proc.layout, {}
            base, n, arr = self.get("bytes"), self.get("ncustoms"), self.get("customs")
            size = lay.size("wp_custom_desc")
            for i in range(min(n or 0, 10_000)):
                at = arr + i * size if arr else None
                name_ptr = lay.get(at, "wp_custom_desc.name")
                name_len = lay.get(at, "wp_custom_desc.name_len")
                start = lay.get(at, "wp_custom_desc.data_start")
                length = lay.get(at, "wp_custom_desc.data_len")
                raw = self.proc.mem.read(name_ptr, name_len or 0) if name_len is not None and name_len < 256 else None
                if raw is None or start is None or length is None or base is None:
                    continue
                out.setdefault(raw.decode("utf-8", "replace"), (base + start, length))
            self._customs = out
        return self._customs

    def section(self, name: str) -> Optional[bytes]:
        where = self.customs().get(name)
        return self.proc.mem.read(*where) if where else None

    @property
    def names(self) -> Names:
        if self._names is None:
            data = self.section("name")
            self._names = parse_names(data) if data else Names()
        return self._names

    @property
    def lines(self) -> Optional[LineTable]:
        if self._lines is None:
            line = self.section(".debug_line")
            if line is None:
                return None
            info = self.debug_info
            self._lines = LineTable(line, self.section(".debug_line_str"), self.section(".debug_str"),
                                    info.comp_dirs if info else None)
        return self._lines

    @property
    def debug_info(self) -> Optional[DebugInfo]:
        if not self._info_read:
            self._info_read = True
            info, abbrev = self.section(".debug_info"), self.section(".debug_abbrev")
            if info is not None and abbrev is not None:
                self._info = DebugInfo(info, abbrev, self.section(".debug_str"), self.section(".debug_line_str"))
        return self._info

    def display_name(self, index: int) -> Optional[str]:
        raw = self.names.func(index)
        if raw is None:
            return None
        if raw.startswith(("_Z", "_R")) and len(raw) > 2:
            demangled = self.proc.demangle(raw)
            if demangled:
                return strip_rust_hash(demangled)
        return raw

    def label(self) -> str:
        return self.names.module or f"module@{self.addr:#x}"

    def body_start(self, index: int) -> Optional[int]:
        imported = self.get("nfuncs_imported")
        bodies = self.get("bodies")
        if imported is None or bodies is None or index < imported:
            return None
        return self.proc.layout.get(bodies + (index - imported) * self.proc.layout.size("wp_func_body"),
                                    "wp_func_body.body_start")

    def source_location(self, offset: int) -> Optional[SourceLocation]:
        start = self.get("code_section_start")
        lines = self.lines
        if lines is None or start is None or offset < start:
            return None
        return lines.lookup(offset - start)


@dataclass
class Instance:
    proc: "Process"
    addr: int

    def get(self, name: str) -> Optional[int]:
        return self.proc.layout.get(self.addr, "wp_instance." + name)

    @property
    def module(self) -> Optional[Module]:
        return self.proc.module(self.get("module"))

    def memory(self, index: int = 0) -> Optional["Memory"]:
        module = self.module
        n = module.get("nmems") if module else None
        if n is None or index >= n:
            return None
        ptr = self.proc.mem.ptr(self.get("mems") + index * self.proc.mem.pointer_size) if self.get("mems") else None
        return Memory(self.proc, ptr) if ptr else None

    def globals(self) -> list:
        """(index, name, type, value text or None) for each global."""
        module = self.module
        n = module.get("nglobals") if module else None
        arr = self.get("globals")
        out = []
        for i in range(min(n or 0, 100_000)):
            gptr = self.proc.mem.ptr(arr + i * self.proc.mem.pointer_size) if arr else None
            lay = self.proc.layout
            t = VALTYPES.get(lay.get(gptr, "wp_global.type") or -1)
            bits = lay.get(gptr, "wp_global.value")
            name = module.names.global_(i) if module else None
            out.append((i, name, t, None if bits is None else format_value(t, bits)))
        return out

    def func_index_of(self, func_addr: int) -> Optional[int]:
        """The index under which this instance knows a function (imports included)."""
        module = self.module
        n = module.get("nfuncs") if module else None
        funcs = self.get("funcs")
        table = self.proc.mem.array(funcs, min(n or 0, 1_000_000), "Q") if funcs else None
        if table is None:
            return None
        try:
            return table.index(func_addr)
        except ValueError:
            return None


@dataclass
class Memory:
    proc: "Process"
    addr: int

    @property
    def data(self) -> Optional[int]:
        return self.proc.layout.get(self.addr, "wp_memory.data")

    @property
    def size(self) -> Optional[int]:
        return self.proc.layout.get(self.addr, "wp_memory.size")


def format_source_value(var: Variable, raw: bytes) -> str:
    """A source variable's bytes as its DWARF type shows them."""
    n = len(raw)
    if var.pointer and n in (4, 8):
        return f"{int.from_bytes(raw, 'little'):#x}"
    if var.encoding == ATE_FLOAT and n in (4, 8):
        return repr(struct.unpack("<f" if n == 4 else "<d", raw)[0])
    if var.encoding is not None and n in (1, 2, 4, 8):
        signed = var.encoding in (ATE_SIGNED, ATE_SIGNED_CHAR)
        v = int.from_bytes(raw, "little", signed=signed)
        if var.encoding == ATE_BOOLEAN:
            return "true" if v else "false"
        return str(v)
    return "{" + " ".join(f"{b:02x}" for b in raw) + "}"


@dataclass
class SourceVariable:
    name: str
    type_name: str
    param: bool
    value: Optional[str]  # None: see why
    why: Optional[str] = None


@dataclass
class Local:
    index: int
    name: str
    valtype: Optional[str]
    value: Optional[str]  # None: unreadable
    param: bool


@dataclass
class GuestFrame:
    """One wp_frame of a context's frame stack."""

    ctx: "Exec"
    index: int
    addr: int
    func: Optional[int] = None
    pc: Optional[int] = None
    fp: Optional[int] = None
    sp: Optional[int] = None
    running: bool = False  # the loop runs this frame now: pc and sp in registers, not saved
    error: Optional[str] = None

    @property
    def proc(self) -> "Process":
        return self.ctx.proc

    def _f(self, name: str) -> Optional[int]:
        return self.proc.layout.get(self.func, "wp_func." + name)

    @property
    def is_host(self) -> bool:
        return bool(self._f("host")) or not self._f("inst")

    @property
    def instance(self) -> Optional[Instance]:
        inst = self._f("inst")
        return Instance(self.proc, inst) if inst else None

    @property
    def caller_instance(self) -> Optional[Instance]:
        """For a host frame: the instance of the guest frame that called it."""
        below = self.ctx.frame(self.index - 1) if self.index > 0 else None
        return below.instance if below and not below.error and not below.is_host else None

    @property
    def module(self) -> Optional[Module]:
        inst = self.instance
        return inst.module if inst else None

    @property
    def func_index(self) -> Optional[int]:
        if self.is_host:
            caller = self.caller_instance
            return caller.func_index_of(self.func) if caller else None
        return self._f("index")

    def name(self) -> str:
        index = self.func_index
        module = self.caller_instance.module if self.is_host and self.caller_instance else self.module
        name = module.display_name(index) if module and index is not None else None
        if name:
            return name
        return f"func[{index}]" if index is not None else "<unknown function>"

    def raw_name(self) -> Optional[str]:
        module = self.module
        index = self.func_index
        return module.names.func(index) if module and index is not None else None

    def host_symbol(self) -> Optional[str]:
        host = self._f("host")
        return self.proc.symbol_at(host) if host else None

    def _code(self) -> Optional[int]:
        """The wp_code (of some loop variant) whose cells hold pc."""
        lay = self.proc.layout
        body = self._f("body")
        codes = lay.addr_of(body, "wp_func_body.code")
        if codes is None or not self.pc:
            return None
        for v in range(lay.fields.get("WP_VARIANT_COUNT", 3)):
            code = self.proc.mem.ptr(codes + v * self.proc.mem.pointer_size)
            seen = 0
            while code and seen < 64:  # a chain, one code per price table (module.h); capped: memory may be bad
                cells = lay.get(code, "wp_code.cells")
                ncells = lay.get(code, "wp_code.ncells")
                if cells and ncells is not None and cells <= self.pc < cells + ncells * lay.fields["sizeof wp_cell"]:
                    return code
                code = lay.get(code, "wp_code.next")
                seen += 1
        return None

    @property
    def offset(self) -> Optional[int]:
        """The module offset of the instruction the frame is at."""
        code = self._code()
        if code is None:
            return None
        return self.proc.code_offset(code, self.pc)

    @property
    def code_offset(self) -> Optional[int]:
        """The offset from the function body's start (coredump and wasmtime convention)."""
        offset, module, index = self.offset, self.module, self.func_index
        start = module.body_start(index) if module and index is not None and offset is not None else None
        return None if start is None else offset - start

    def location(self) -> Optional[SourceLocation]:
        offset, module = self.offset, self.module
        return module.source_location(offset) if module and offset is not None else None

    def locals(self) -> list:
        """Parameters and declared locals with names (name section) and values."""
        lay, mem = self.proc.layout, self.proc.mem
        ftype = self._f("type")
        nparams = lay.get(ftype, "wp_functype.nparams")
        if self.is_host:
            types = mem.read(lay.get(ftype, "wp_functype.types"), nparams or 0)
            count = nparams
        else:
            body = self._f("body")
            declared = lay.get(body, "wp_func_body.nlocals")
            count = None if nparams is None or declared is None else nparams + declared
            types = mem.read(lay.get(body, "wp_func_body.local_types"), min(count or 0, 1 << 20))
        if count is None:
            return []
        module = self.caller_instance.module if self.is_host and self.caller_instance else self.module
        index = self.func_index
        values = mem.array(self.fp, min(count, 1 << 20), "Q") if self.fp else None
        out = []
        for i in range(min(count, 1 << 20)):
            t = VALTYPES.get(types[i]) if types and i < len(types) else None
            name = module.names.local(index, i) if module and index is not None and not self.is_host else None
            if name is None:
                name = f"param{i}" if i < (nparams or 0) else f"local{i}"
            value = format_value(t, values[i]) if values is not None else None
            out.append(Local(i, name, t, value, i < (nparams or 0)))
        return out

    def _location_bits(self, loc: Location) -> Optional[int]:
        """The 64-bit slot of a wasm local or global location."""
        if loc.kind == "local":
            return self.proc.mem.u64(self.fp + 8 * loc.index) if self.fp else None
        inst = self.instance
        globals_ = inst.get("globals") if inst else None
        gptr = self.proc.mem.ptr(globals_ + loc.index * self.proc.mem.pointer_size) if globals_ else None
        return self.proc.layout.get(gptr, "wp_global.value")

    def source_variables(self) -> Optional[list]:
        """The DWARF parameters and variables of the function at this frame's
        instruction (None when the module has no .debug_info for it)."""
        module, offset = self.module, self.offset
        if self.is_host or module is None or offset is None:
            return None
        info, start = module.debug_info, module.get("code_section_start")
        fn = info.function_at(offset - start) if info and start is not None and offset >= start else None
        if fn is None:
            return None
        out = []
        memory = self.instance.memory(0) if self.instance else None
        for var in fn.variables:
            value, why = None, var.why_not
            loc = var.location
            if loc is not None and loc.kind in ("local", "global"):
                bits = self._location_bits(loc)
                if bits is None:
                    why = f"{loc.kind} {loc.index}"
                else:
                    value = format_source_value(var, bits.to_bytes(8, "little")[: var.size or 4])
            elif loc is not None:
                base = self._location_bits(loc.base) if loc.base is not None else 0
                size = var.size if var.size and var.size <= 4096 else None
                if base is None:
                    why = "the frame base"
                elif size is None:
                    why = "a value of unknown size"
                else:
                    addr = (base + loc.offset) & 0xFFFFFFFF
                    data, limit = (memory.data, memory.size) if memory else (None, None)
                    raw = self.proc.mem.read(data + addr, size) if data and limit is not None and addr + size <= limit else None
                    if raw is None:
                        why = f"{size} bytes at guest address {addr:#x}"
                    else:
                        value = format_source_value(var, raw)
            out.append(SourceVariable(var.name, var.type_name, var.param, value, why))
        return out

    def operand_stack(self) -> Optional[list]:
        """The operand slots (raw bits, bottom first), when pc and sp are saved."""
        if self.is_host or self.running or not self.fp or not self.sp:
            return None
        nlocals = len(self.locals())
        start = self.fp + 8 * nlocals
        if self.sp < start or self.sp - start > 8 * MAX_FRAMES:
            return None
        n = (self.sp - start) // 8
        return list(self.proc.mem.array(start, min(n, MAX_SHOWN_SLOTS), "Q") or []) if n else []


@dataclass
class Exec:
    """A wp_exec: a thread's guest stacks."""

    proc: "Process"
    addr: int
    _frames: dict = field(default_factory=dict)

    def get(self, name: str) -> Optional[int]:
        return self.proc.layout.get(self.addr, "wp_exec." + name)

    @property
    def running(self) -> bool:
        return bool(self.get("depth"))

    def frame_count(self) -> int:
        """Frames of a running call, or those a failed call left (wp_exec_frame)."""
        n = self.get("nframes") or 0
        if not self.running:
            n = max(n, self.get("trap_nframes") or 0)
        return min(n, MAX_FRAMES)

    def frame(self, i: int) -> GuestFrame:
        if i in self._frames:
            return self._frames[i]
        lay = self.proc.layout
        frames = self.get("frames")
        at = frames + i * lay.size("wp_frame") if frames else 0
        f = GuestFrame(self, i, at)
        f.func = lay.get(at, "wp_frame.func")
        f.pc = lay.get(at, "wp_frame.pc")
        f.fp = lay.get(at, "wp_frame.fp")
        f.sp = lay.get(at, "wp_frame.sp")
        if f.func is None or f.fp is None:
            f.error = f"frame {i} at {at:#x}" if at else f"frame {i} (no frame array)"
        elif self.proc.layout.get(f.func, "wp_func.inst") is None:
            f.error = f"the function of frame {i} at {f.func:#x}"
        self._frames[i] = f
        return f

    def frames(self) -> list:
        """Innermost first."""
        return [self.frame(i) for i in reversed(range(self.frame_count()))]

    def entries(self) -> list:
        """(address, base) of each wp_call in progress, innermost first."""
        out, at, seen = [], self.get("entry"), set()
        while at and at not in seen and len(out) < MAX_LIST:
            seen.add(at)
            base = self.proc.layout.get(at, "wp_entry_record.base")
            if base is None:
                break
            out.append((at, base))
            at = self.proc.layout.get(at, "wp_entry_record.prev")
        return out

    def segment(self, base: int) -> list:
        """The guest frames one loop activation runs: from base up to the
        first host frame above it (innermost first)."""
        out = []
        for i in range(base, self.frame_count()):
            f = self.frame(i)
            if not f.error and f.is_host:
                break
            out.append(f)  # an unreadable frame is shown (as such) where it is
        return list(reversed(out))


@dataclass
class CFrame:
    """What the layer needs of a C frame: its function's name and stack pointer."""

    name: Optional[str]
    sp: Optional[int]


class Process:
    """wasmprof's state in one stopped inferior."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.error: Optional[str] = None
        try:
            self.layout: Layout = load_layout(target)
            self.mem: Mem = self.layout.mem
        except LayoutError as e:
            self.error = str(e)
            self.mem = Mem(target)
        self._modules: dict = {}
        self._maps: dict = {}
        self._demangled: dict = {}

    @property
    def ok(self) -> bool:
        return self.error is None

    def demangle(self, name: str) -> Optional[str]:
        if name not in self._demangled:
            try:
                self._demangled[name] = self.target.demangle(name)
            except Exception:
                self._demangled[name] = None
        return self._demangled[name]

    def symbol_at(self, addr: int) -> Optional[str]:
        try:
            return self.target.symbol_at(addr)
        except Exception:
            return None

    def _walk(self, head: Optional[int], next_field: str) -> list:
        out, at, seen = [], head, set()
        while at and at not in seen and len(out) < MAX_LIST:
            seen.add(at)
            out.append(at)
            at = self.layout.get(at, next_field)
        return out

    def execs(self) -> list:
        return [Exec(self, a) for a in self._walk(self.layout.execs_head, "wp_exec.roots_next")] if self.ok else []

    def instances(self) -> list:
        if not self.ok:
            return []
        return [Instance(self, a) for a in self._walk(self.layout.instances_head, "wp_instance.roots_next")]

    def module(self, addr: Optional[int]) -> Optional[Module]:
        if not addr:
            return None
        if addr not in self._modules:
            self._modules[addr] = Module(self, addr)
        return self._modules[addr]

    def code_offset(self, code: int, pc: int) -> Optional[int]:
        """wp_code_offset: the module offset of the instruction at or before pc."""
        if code not in self._maps:
            lay = self.layout
            n = lay.get(code, "wp_code.nmap")
            cells = self.mem.array(lay.get(code, "wp_code.map_cell"), min(n or 0, 1 << 24), "I")
            offsets = self.mem.array(lay.get(code, "wp_code.map_offset"), min(n or 0, 1 << 24), "I")
            self._maps[code] = (cells, offsets, lay.get(code, "wp_code.cells"))
        cells, offsets, base = self._maps[code]
        if not cells or offsets is None or base is None:
            return None
        i = bisect.bisect_right(cells, (pc - base) // self.layout.fields["sizeof wp_cell"]) - 1
        return offsets[i] if i >= 0 else None

    # ---- which guest frames a thread runs ----

    def loop_segments(self, cframes: list) -> dict:
        """For each interpreter-loop C frame (index into cframes, innermost
        first), the guest frames it runs, innermost first.  A loop frame is
        matched to the wp_call entry just above it on the C stack."""
        entries = [(addr, ex, base) for ex in self.execs() for addr, base in ex.entries()]
        entries.sort(key=lambda e: e[0])
        keys = [e[0] for e in entries]
        out = {}
        for i, cf in enumerate(cframes):
            if cf.name not in LOOP_FUNCTIONS or cf.sp is None:
                continue
            j = bisect.bisect_left(keys, cf.sp)
            if j < len(entries) and entries[j][0] - cf.sp < ENTRY_REACH:
                _, ex, base = entries[j]
                segment = ex.segment(base)
                # The loop (or a helper of the compiler's or the sanitizers')
                # runs the context's top frame: its pc is in a register.
                if (segment and not segment[0].error and segment[0].index == ex.frame_count() - 1
                        and not any(c.name in PC_SAVING for c in cframes[:i])):
                    segment[0].running = True
                out[i] = segment
        return out

    def thread_execs(self, cframes: list, sp: Optional[int]) -> tuple:
        """The contexts a thread runs (innermost first) and how that was
        decided: by its loop frames, by the C stack range, or as the only
        context with guest frames."""
        found = []
        for segment in self.loop_segments(cframes).values():
            for f in segment:
                if f.ctx.addr not in [e.addr for e in found]:
                    found.append(f.ctx)
        if found:
            return found, None
        execs = self.execs()
        if sp is not None:
            near = [(min(a for a, _ in e.entries()), e) for e in execs if e.entries()]
            near = [(a, e) for a, e in near if 0 <= a - sp < (64 << 20)]
            if near:
                return [e for _, e in sorted(near, key=lambda x: x[0])], None
        active = [e for e in execs if e.running]
        if len(active) == 1:
            return active, "the only context running a call (this thread's C stack could not be matched)"
        failed = [e for e in execs if not e.running and e.frame_count()]
        if failed:
            return failed, "no call is running: these are the frames the last failed call left"
        return [], None

    def thread_frames(self, cframes: list, sp: Optional[int]) -> tuple:
        """All guest frames (host frames included) of the thread, innermost first."""
        execs, note = self.thread_execs(cframes, sp)
        segments = self.loop_segments(cframes)
        running = {(f.ctx.addr, f.index) for seg in segments.values() for f in seg if f.running}
        frames = []
        for ex in execs:
            for f in ex.frames():
                f.running = (ex.addr, f.index) in running
                frames.append(f)
        return frames, note


def iter_readable(frames: Iterable[GuestFrame]) -> Iterable[GuestFrame]:
    return (f for f in frames if not f.error)
