"""The core's debugging root, `wasmprof_debug` (csrc/observe/debug_roots.c): a magic
string, a version, the pointer size, a table of struct offsets and sizes by
name, and the heads of the lists of live contexts and instances.  Offsets
come from the process itself, so the reader works with any build of the
core (release builds carry no DWARF types)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .target import Mem, Target

ROOT_SYMBOL = "wasmprof_debug"
MAGIC = b"wasmprof-debug\0"
VERSION = 1
MAX_FIELDS = 1024

# The C type of each field the reader uses: how many bytes to read.  The
# offsets are the build's; these types are the contract (runtime.h, code.h,
# module.h and wasmprof.h declare them so).
FIELD_TYPES = {
    "wp_exec.frames": "ptr", "wp_exec.nframes": "u32", "wp_exec.trap_nframes": "u32",
    "wp_exec.depth": "u32", "wp_exec.stack": "ptr", "wp_exec.stack_end": "ptr", "wp_exec.variant": "u8",
    "wp_exec.ticks": "u64", "wp_exec.roots_next": "ptr", "wp_exec.entry": "ptr", "wp_exec.dbg": "ptr",
    "wp_entry_record.prev": "ptr", "wp_entry_record.base": "u32",
    "wp_frame.func": "ptr", "wp_frame.pc": "ptr", "wp_frame.fp": "ptr", "wp_frame.sp": "ptr",
    "wp_func.type": "ptr", "wp_func.inst": "ptr", "wp_func.index": "u32", "wp_func.body": "ptr",
    "wp_func.host": "ptr", "wp_func.host_ctx": "ptr",
    "wp_functype.nparams": "u32", "wp_functype.nresults": "u32", "wp_functype.types": "ptr",
    "wp_func_body.body_start": "u32", "wp_func_body.code_start": "u32", "wp_func_body.body_end": "u32",
    "wp_func_body.nlocals": "u32", "wp_func_body.local_types": "ptr",
    "wp_code.cells": "ptr", "wp_code.ncells": "u32", "wp_code.map_cell": "ptr", "wp_code.map_offset": "ptr",
    "wp_code.nmap": "u32", "wp_code.nparams": "u32", "wp_code.nlocals": "u32", "wp_code.next": "ptr",
    "wp_instance.module": "ptr", "wp_instance.refcount": "u32", "wp_instance.funcs": "ptr",
    "wp_instance.mems": "ptr", "wp_instance.globals": "ptr", "wp_instance.roots_next": "ptr",
    "wp_module.bytes": "ptr", "wp_module.size": "u32", "wp_module.types": "ptr", "wp_module.ntypes": "u32",
    "wp_module.nimports": "u32", "wp_module.nfuncs": "u32", "wp_module.nfuncs_imported": "u32",
    "wp_module.func_types": "ptr", "wp_module.bodies": "ptr", "wp_module.nmems": "u32",
    "wp_module.nglobals": "u32", "wp_module.customs": "ptr", "wp_module.ncustoms": "u32",
    "wp_module.code_section_start": "u32",
    "wp_custom_desc.name": "ptr", "wp_custom_desc.name_len": "u32", "wp_custom_desc.data_start": "u32",
    "wp_custom_desc.data_len": "u32",
    "wp_memory.data": "ptr", "wp_memory.size": "u64", "wp_memory.reserved": "u64",
    "wp_global.value": "u64", "wp_global.type": "u8", "wp_global.mutable_": "u8",
    "wp_error.kind": "u32", "wp_error.trap": "u32", "wp_error.offset": "u32", "wp_error.func": "u32",
}


@dataclass
class Layout:
    """The root's address and the layout table, with typed field reads."""

    mem: Mem
    root: int
    fields: dict

    def offset(self, name: str) -> Optional[int]:
        return self.fields.get(name)

    def size(self, struct_name: str) -> Optional[int]:
        return self.fields.get("sizeof " + struct_name)

    def get(self, addr: Optional[int], name: str) -> Optional[int]:
        """The field `struct.field` of the struct at addr, or None."""
        off = self.fields.get(name)
        if addr is None or off is None:
            return None
        kind = FIELD_TYPES[name]
        if kind == "ptr":
            return self.mem.ptr(addr + off)
        if kind == "u32":
            return self.mem.u32(addr + off)
        if kind == "u64":
            return self.mem.u64(addr + off)
        return self.mem.u8(addr + off)

    def addr_of(self, addr: Optional[int], name: str) -> Optional[int]:
        off = self.fields.get(name)
        return None if addr is None or off is None else addr + off

    @property
    def execs_head(self) -> Optional[int]:
        return self.mem.ptr(self.root + 16 + 8 + self.mem.pointer_size)

    @property
    def instances_head(self) -> Optional[int]:
        return self.mem.ptr(self.root + 16 + 8 + 2 * self.mem.pointer_size)


class LayoutError(Exception):
    """The root is missing or not one this reader understands (said once, plainly)."""


def load_layout(target: Target) -> Layout:
    addr = None
    try:
        addr = target.symbol_address(ROOT_SYMBOL)
    except Exception:
        addr = None
    if not addr:
        raise LayoutError(f"no `{ROOT_SYMBOL}` symbol: this process does not contain the wasmprof core")
    mem = Mem(target)
    head = mem.read(addr, 24)
    if head is None:
        raise LayoutError(f"unable to read `{ROOT_SYMBOL}` at {addr:#x}")
    if head[:15] != MAGIC:
        raise LayoutError(f"`{ROOT_SYMBOL}` at {addr:#x} has no wasmprof magic (corrupt memory?)")
    version = int.from_bytes(head[16:20], "little")
    pointer_size = int.from_bytes(head[20:24], "little")
    if version != VERSION:
        raise LayoutError(f"`{ROOT_SYMBOL}` has version {version}; this reader knows version {VERSION}")
    if pointer_size not in (4, 8):
        raise LayoutError(f"`{ROOT_SYMBOL}` says pointers have {pointer_size} bytes")
    mem.pointer_size = pointer_size
    table = mem.ptr(addr + 24)
    fields = {}
    entry = 8 + pointer_size if pointer_size == 8 else 12  # {const char *name; uint64_t value;}
    for i in range(MAX_FIELDS):
        name_ptr = mem.ptr(table + i * entry) if table else None
        if name_ptr is None:
            raise LayoutError(f"unable to read the layout table at {table or 0:#x}")
        if name_ptr == 0:
            break
        name = mem.cstr(name_ptr, 128)
        value = mem.u64(table + i * entry + (8 if pointer_size == 8 else 4))
        if name is None or value is None:
            raise LayoutError(f"unable to read layout entry {i}")
        fields[name] = value
    missing = [f for f in FIELD_TYPES if f not in fields]
    if missing:
        raise LayoutError(f"the layout table lacks {', '.join(missing[:4])}")
    return Layout(mem, addr, fields)
