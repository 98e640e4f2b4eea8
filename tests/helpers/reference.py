"""A naive reference interpreter that counts ticks, for the profiler's tests.

It shares nothing with the C core: it reads the disassembly printed by wabt's
``wasm-objdump`` and interprets the structured instructions directly (no
translation, no blocks of ticks), counting every instruction it executes
under the rules stated in include/wasmprof.h:

* every executed instruction counts, including nop, block, loop, if, br,
  br_if, br_table, return, call and unreachable;
* ``end`` and ``else`` count only when reached by falling through (a branch
  lands after them; ``else`` reached this way jumps past its ``end``);
* ``loop`` counts when entered from above, not when a branch repeats it;
* a trapping instruction counts, nothing after it does.

It builds the call tree the same way the profiler does (one node per path
of function indices from the root) with calls and self ticks per node, so a
test can compare whole trees.  Only the instructions the test programs use
are implemented (i32/i64 integer arithmetic, locals, globals, i32 memory
access, control, calls, host imports as Python callables).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

M32, M64 = (1 << 32) - 1, (1 << 64) - 1


class RefTrap(Exception):
    pass


@dataclass
class Func:
    index: int
    nparams: int
    nresults: int
    nlocals: int = 0
    code: List[Tuple[str, List[str]]] = field(default_factory=list)
    offsets: List[int] = field(default_factory=list)       # module offset of each instruction of code
    match: Dict[int, int] = field(default_factory=dict)   # block/loop/if -> its end
    else_of: Dict[int, int] = field(default_factory=dict)  # if -> its else
    arity: Dict[int, int] = field(default_factory=dict)    # block/if -> result count


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _s64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


def _div_s(a: int, b: int, bits: int) -> int:
    if b == 0:
        raise RefTrap("integer divide by zero")
    q = abs(a) // abs(b)
    q = q if (a < 0) == (b < 0) else -q
    if q >= 1 << (bits - 1):
        raise RefTrap("integer overflow")
    return q


def _binop(name: str) -> Optional[Callable[[int, int], int]]:
    t, op = name.split(".", 1)
    if t not in ("i32", "i64"):
        return None
    bits = 32 if t == "i32" else 64
    m = M32 if bits == 32 else M64
    s = _s32 if bits == 32 else _s64
    ops: Dict[str, Callable[[int, int], int]] = {
        "add": lambda a, b: (a + b) & m, "sub": lambda a, b: (a - b) & m, "mul": lambda a, b: (a * b) & m,
        "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
        "shl": lambda a, b: (a << (b % bits)) & m, "shr_u": lambda a, b: a >> (b % bits),
        "shr_s": lambda a, b: (s(a) >> (b % bits)) & m,
        "eq": lambda a, b: int(a == b), "ne": lambda a, b: int(a != b),
        "lt_u": lambda a, b: int(a < b), "gt_u": lambda a, b: int(a > b),
        "le_u": lambda a, b: int(a <= b), "ge_u": lambda a, b: int(a >= b),
        "lt_s": lambda a, b: int(s(a) < s(b)), "gt_s": lambda a, b: int(s(a) > s(b)),
        "le_s": lambda a, b: int(s(a) <= s(b)), "ge_s": lambda a, b: int(s(a) >= s(b)),
        "div_s": lambda a, b: _div_s(s(a), s(b), bits) & m,
        "div_u": lambda a, b: a // b if b else (_ for _ in ()).throw(RefTrap("integer divide by zero")),
        "rem_u": lambda a, b: a % b if b else (_ for _ in ()).throw(RefTrap("integer divide by zero")),
    }
    return ops.get(op)


class Reference:
    """Parse a module with wasm-objdump; call(name or index, args) runs it, counting."""

    def __init__(self, path: str, imports: Optional[Dict[int, Callable[..., Optional[int]]]] = None,
                 costs: Optional[Dict[str, int]] = None, default_cost: int = 1, per_call: int = 0) -> None:
        details = subprocess.run(["wasm-objdump", "-x", path], capture_output=True, text=True, check=True).stdout
        disasm = subprocess.run(["wasm-objdump", "-d", path], capture_output=True, text=True, check=True).stdout
        types: List[Tuple[int, int]] = []
        for m in re.finditer(r"- type\[\d+\] \((.*?)\) -> (\S+)", details):
            params = [p for p in m.group(1).split(",") if p.strip()]
            results = 0 if m.group(2) == "nil" else len(m.group(2).strip("()").split(","))
            types.append((len(params), results))
        self.funcs: Dict[int, Func] = {}
        self.imported: List[int] = []
        for m in re.finditer(r"- func\[(\d+)\] sig=(\d+)(?: <[^>]*>)?( <- (\S+))?", details):
            idx, sig = int(m.group(1)), int(m.group(2))
            self.funcs[idx] = Func(idx, *types[sig])
            if m.group(3):
                self.imported.append(idx)
        self.exports = {m.group(2): int(m.group(1)) for m in re.finditer(r"- func\[(\d+)\](?: <[^>]*>)? -> \"([^\"]+)\"", details)}
        self.globals = [int(m.group(2)) & M64 for m in re.finditer(r"- global\[(\d+)\] \S+ mutable=\d(?: <[^>]*>)? - init \S+=(-?\d+)", details)]
        pages = re.search(r"pages: initial=(\d+)", details)
        self.memory = bytearray(65536 * int(pages.group(1))) if pages else bytearray()
        cur: Optional[Func] = None
        for line in disasm.splitlines():
            hm = re.match(r"^[0-9a-f]+ func\[(\d+)\]", line)
            if hm:
                cur = self.funcs[int(hm.group(1))]
                continue
            im = re.match(r"^ ([0-9a-f]+): [0-9a-f ]+\| (.*)$", line)
            if not im or cur is None:
                continue
            text = re.sub(r"<[^>]*>", "", im.group(2)).strip()
            lm = re.match(r"local\[(\d+)(?:\.\.(\d+))?\]", text)
            if lm:  # "local[1] type=i32" or "local[1..3] type=i32"
                cur.nlocals += int(lm.group(2) or lm.group(1)) - int(lm.group(1)) + 1
                continue
            parts = text.split()
            cur.code.append((parts[0], parts[1:]))
            cur.offsets.append(int(im.group(1), 16))
        for f in self.funcs.values():
            stack: List[int] = []
            for i, (op, imm) in enumerate(f.code):
                if op in ("block", "loop", "if"):
                    stack.append(i)
                    f.arity[i] = len(imm)
                elif op == "else":
                    f.else_of[stack[-1]] = i
                elif op == "end" and stack:
                    f.match[stack.pop()] = i
        self.host = imports or {}
        self.costs = costs or {}
        self.default_cost = default_cost
        self.per_call = per_call
        self.ticks = 0
        # call tree: path tuple -> [calls, self_ticks]
        self.tree: Dict[Tuple[int, ...], List[int]] = {}
        # per instruction: (path, module offset) -> [executions, ticks]; offset -1: the per-call price
        self.insns: Dict[Tuple[Tuple[int, ...], int], List[int]] = {}

    def cost(self, op: str) -> int:
        return self.costs.get(op, self.default_cost)

    def call(self, func: "int | str", args: List[int]) -> List[int]:
        idx = self.exports[func] if isinstance(func, str) else func
        return self._call(idx, list(args), ())

    def _charge(self, path: Tuple[int, ...], n: int, offset: int = -1) -> None:
        self.ticks += n
        self.tree[path][1] += n
        if n or offset != -1:
            insn = self.insns.setdefault((path, offset), [0, 0])
            insn[0] += 1
            insn[1] += n

    def _call(self, idx: int, args: List[int], parent: Tuple[int, ...]) -> List[int]:
        path = parent + (idx,)
        node = self.tree.setdefault(path, [0, 0])
        node[0] += 1
        self._charge(path, self.per_call)
        f = self.funcs[idx]
        if idx in self.imported:
            r = self.host[idx](*args)
            return [] if r is None else [r]
        locals_ = args + [0] * f.nlocals
        stack: List[int] = []
        labels: List[Tuple[int, int, int, bool]] = []  # (start, end, height, is_loop)
        code = f.code
        pc = 0

        def branch(depth: int) -> Optional[int]:
            """New pc after br depth, or None to return from the function."""
            if depth == len(labels):
                return None
            start, end, height, is_loop = labels[len(labels) - 1 - depth]
            arity = 0 if is_loop else f.arity[start]
            vals = stack[len(stack) - arity:] if arity else []
            del stack[height:]
            stack.extend(vals)
            del labels[len(labels) - 1 - depth:]
            if is_loop:
                labels.append((start, end, height, True))
                return start + 1
            return end + 1

        while True:
            op, imm = code[pc]
            self._charge(path, self.cost(op), f.offsets[pc])
            nxt = pc + 1
            if op == "end":
                if not labels:
                    break
                labels.pop()
            elif op == "block" or op == "loop":
                labels.append((pc, f.match[pc], len(stack), op == "loop"))
            elif op == "if":
                c = stack.pop()
                labels.append((pc, f.match[pc], len(stack), False))
                if not c:
                    if pc in f.else_of:
                        nxt = f.else_of[pc] + 1
                    else:
                        labels.pop()
                        nxt = f.match[pc] + 1
            elif op == "else":
                start, end, _, _ = labels.pop()
                nxt = end + 1
            elif op == "br":
                r = branch(int(imm[0]))
                if r is None:
                    break
                nxt = r
            elif op == "br_if":
                if stack.pop():
                    r = branch(int(imm[0]))
                    if r is None:
                        break
                    nxt = r
            elif op == "return":
                break
            elif op == "unreachable":
                raise RefTrap("unreachable")
            elif op == "nop":
                pass
            elif op == "drop":
                stack.pop()
            elif op == "select":
                c, b = stack.pop(), stack.pop()
                a = stack.pop()
                stack.append(a if c else b)
            elif op == "call":
                callee = self.funcs[int(imm[0])]
                cargs = stack[len(stack) - callee.nparams:] if callee.nparams else []
                del stack[len(stack) - callee.nparams:]
                stack.extend(self._call(callee.index, cargs, path))
            elif op == "local.get":
                stack.append(locals_[int(imm[0])])
            elif op == "local.set":
                locals_[int(imm[0])] = stack.pop()
            elif op == "local.tee":
                locals_[int(imm[0])] = stack[-1]
            elif op == "global.get":
                stack.append(self.globals[int(imm[0])])
            elif op == "global.set":
                self.globals[int(imm[0])] = stack.pop()
            elif op in ("i32.const", "i64.const"):
                stack.append(int(imm[0]) & (M32 if op[1] == "3" else M64))
            elif op in ("i32.eqz", "i64.eqz"):
                stack.append(int(stack.pop() == 0))
            elif op == "i32.wrap_i64":
                stack.append(stack.pop() & M32)
            elif op == "i64.extend_i32_u":
                pass
            elif op in ("i32.load", "i32.load8_u", "i32.store"):
                offset = int(imm[1]) if len(imm) > 1 else 0  # objdump prints "align offset"
                size = 1 if op == "i32.load8_u" else 4
                if op == "i32.store":
                    v = stack.pop()
                    ea = stack.pop() + offset
                    if ea + 4 > len(self.memory):
                        raise RefTrap("out of bounds memory access")
                    self.memory[ea:ea + 4] = (v & M32).to_bytes(4, "little")
                else:
                    ea = stack.pop() + offset
                    if ea + size > len(self.memory):
                        raise RefTrap("out of bounds memory access")
                    stack.append(int.from_bytes(self.memory[ea:ea + size], "little"))
            else:
                fn = _binop(op)
                if fn is None:
                    raise NotImplementedError(op)
                b, a = stack.pop(), stack.pop()
                stack.append(fn(a, b))
            pc = nxt
        return stack[len(stack) - f.nresults:] if f.nresults else []
