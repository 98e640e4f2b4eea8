"""Load the wasmprof commands (wasm-bt, ...) into LLDB:

    (lldb) command script import /path/to/wasmprof/gdb/wasmprof_lldb.py
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

from wasmprof_gdb.lldb_front import *  # noqa: E402,F401,F403  (the cmd_* functions LLDB calls)
from wasmprof_gdb.lldb_front import register  # noqa: E402


def __lldb_init_module(debugger, internal_dict):
    register(debugger, __name__)
