"""Load the wasmprof GDB extension from this directory:

    (gdb) source /path/to/wasmprof/gdb/wasmprof-gdb.py

(Builds embed the same extension in every binary that links the core, and
install it beside the Python extension as _core*.so-gdb.py, so GDB
auto-loads it when `set auto-load safe-path` allows.)"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if "wasmprof_gdb" not in sys.modules and _here not in sys.path:
    sys.path.insert(0, _here)
import wasmprof_gdb.gdb_front  # noqa: E402

wasmprof_gdb.gdb_front.register()
