"""wasmprof_gdb: guest (WebAssembly) stacks of a process that embeds wasmprof,
read from its memory by a debugger: GDB (gdb_front) or LLDB (lldb_front).

Layers, innermost first:
  target.py      what a debugger front end provides (read memory, name symbols)
                 and the safe readers over it that never raise
  layout.py      the core's `wasmprof_debug` root and struct layout (csrc/observe/debug_roots.c)
  names.py       the module's name section, parsed from its bytes
  dwarf_lines.py DWARF .debug_line from the module's custom sections
  model.py       contexts, guest frames, instances, modules, memories, globals
  commands.py    the wasm-* commands as text, for any front end
Nothing here calls a function in the inferior, so core files work as well
as live processes.  Every read of the inferior can fail (a core without
that mapping, a corrupt pointer): readers return None and the commands say
"(unable to read ...)" instead of raising, as CPython's libpython.py does.
"""
