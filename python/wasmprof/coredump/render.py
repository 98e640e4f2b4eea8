"""The text report of a coredump (Coredump.render), and the small symbolizer
it reads names and source lines through.

Symbolizer uses the Module's own lookups when it has them (func_name,
local_name, global_name, source_location, func_body_offset: the names and
DWARF work) and falls back to plain indices (``func[N]``, ``local N``)
otherwise, so a report is always possible, with or without a module.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

if TYPE_CHECKING:
    from .reader import Coredump, Frame, Memory


class Symbolizer:
    """Names, body offsets and source lines of one module, as far as known."""

    def __init__(self, module: Any = None) -> None:
        self.module = module
        self._body_offsets: Optional[Dict[int, int]] = None

    def _ask(self, method: str, *args: Any) -> Any:
        fn: Optional[Callable[..., Any]] = getattr(self.module, method, None) if self.module is not None else None
        if fn is None:
            return None
        try:
            return fn(*args)
        except (IndexError, ValueError, KeyError, TypeError):
            return None  # a module that does not match the dump: no name, not a failure

    def func(self, index: int) -> str:
        name = self._ask("func_name", index)
        return f"{name} [func {index}]" if name else f"func[{index}]"

    def local(self, func: int, index: int) -> str:
        return self._ask("local_name", func, index) or f"local {index}"

    def global_(self, index: int) -> str:
        name = self._ask("global_name", index)
        return f"global {index} ({name})" if name else f"global {index}"

    def body_offset(self, func: int) -> Optional[int]:
        """The module offset function-relative code offsets count from."""
        off = self._ask("func_body_offset", func)
        if isinstance(off, int):
            return off
        data = getattr(self.module, "data", None)
        if not isinstance(data, bytes):
            return None
        if self._body_offsets is None:
            nimported = sum(1 for imp in getattr(self.module, "imports", []) if imp.kind == "func")
            self._body_offsets = _body_offsets(data, nimported)
        return self._body_offsets.get(func)

    def location(self, module_offset: int) -> Optional[str]:
        loc = self._ask("source_location", module_offset)
        if loc is None:
            return None
        text = f"{loc.file}:{loc.line}"
        column = getattr(loc, "column", None)
        return f"{text}:{column}" if column else text


def _body_offsets(data: bytes, nimported: int) -> Dict[int, int]:
    """{function index: module offset of its body} from the code section
    (only for a module given as bytes; Module.func_body_offset supersedes it)."""

    def uleb(pos: int) -> "tuple[int, int]":
        result = shift = 0
        while pos < len(data):
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result, pos
        raise ValueError("truncated module")

    out: Dict[int, int] = {}
    pos = 8
    try:
        while pos < len(data):
            sid = data[pos]
            size, pos = uleb(pos + 1)
            if sid == 10:
                count, p = uleb(pos)
                for i in range(count):
                    body_size, p = uleb(p)
                    out[nimported + i] = p
                    p += body_size
                break
            pos += size
    except ValueError:
        pass
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _memory_summary(index: int, mem: "Memory") -> List[str]:
    size = mem.size
    head = f"memory {index}: {_plural(mem.pages, 'page')} ({size} bytes)"
    if mem.max_pages is not None:
        head += f", max {mem.max_pages}"
    nonzero = mem.nonzero_bytes
    lines = [head + f"; {nonzero} non-zero bytes in {_plural(len(mem.segments), 'segment')}"]
    if mem.segments:
        lo = min(s for s, _ in mem.segments)
        hi = max(s + len(d) for s, d in mem.segments)
        lines.append(f"    non-zero data within [{lo:#x}, {hi:#x})")
    return lines


def _frame_lines(i: int, frame: "Frame", symbols: Symbolizer, named: bool) -> List[str]:
    sym = symbols if named else Symbolizer(None)
    where = f"+{frame.code_offset:#x}"
    base = sym.body_offset(frame.func_index)
    loc = None
    if base is not None:
        module_offset = base + frame.code_offset
        where += f" (module offset {module_offset:#x})"
        loc = sym.location(module_offset)
    line = f"  #{i:<2} {sym.func(frame.func_index)} {where}"
    if frame.instance:
        line += f" in instance {frame.instance}"
    out = [line]
    if loc:
        out.append(f"        at {loc}")
    if frame.locals:
        out.append("        locals:")
        for j, v in enumerate(frame.locals):
            out.append(f"          {sym.local(frame.func_index, j)} = {v}")
    else:
        out.append("        locals: (none recorded)")
    if frame.stack:
        out.append("        stack (bottom to top): " + ", ".join(str(v) for v in frame.stack))
    else:
        out.append("        stack: (empty or not recorded)")
    return out


def render(dump: "Coredump", module: Any = None) -> str:
    """The report: backtrace (names and source lines when module is given,
    which is taken to be the innermost frame's module), each frame's locals
    and operand stack, then memory and global summaries."""
    symbols = Symbolizer(module)
    lines = [f"WebAssembly coredump of {dump.executable!r}"]
    if dump.modules:
        lines.append("modules: " + ", ".join(f"{i}: {name}" for i, name in enumerate(dump.modules)))
    frames = dump.frames
    main_module = _module_of(dump, frames[0]) if frames else None
    for t in dump.threads:
        lines.append(f"thread {t.name!r}: {_plural(len(t.frames), 'frame')}, innermost first")
        for i, f in enumerate(t.frames):
            lines.extend(_frame_lines(i, f, symbols, _module_of(dump, f) == main_module))
    for i, mem in enumerate(dump.memories):
        lines.extend(_memory_summary(i, mem))
    if dump.globals:
        lines.append("globals:")
        inner = frames[0].instance if frames else 0
        if dump.instances and inner < len(dump.instances):
            for gi, g in dump.instance_globals(inner):
                lines.append(f"  {symbols.global_(gi)}: {g.type} {_fmt(g.value)}")
            others = len(dump.globals) - len(dump.instances[inner].globals)
            if others > 0:
                lines.append(f"  (and {_plural(others, 'global')} of other instances)")
        else:
            for gi, g in enumerate(dump.globals):
                lines.append(f"  global {gi}: {g.type} {_fmt(g.value)}")
    return "\n".join(lines) + "\n"


def _module_of(dump: "Coredump", frame: "Frame") -> Optional[int]:
    if frame.instance < len(dump.instances):
        return dump.instances[frame.instance].module
    return None


def _fmt(v: Any) -> str:
    return "null" if v is None else repr(v) if isinstance(v, float) else str(v)


def hexdump(data: bytes, base: int) -> str:
    """Classic 16-bytes-per-line hexdump with an ASCII column."""
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at : at + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{base + at:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines) + ("\n" if lines else "")
