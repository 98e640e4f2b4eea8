"""wasmprof.profiles: exact profiles.

profiler.py runs a guest with the profiler on (``wasmprof.profile()``);
model.py is the data it returns (:class:`Profile`: the call tree, per
function and per edge views, per source line and per instruction, merge
and diff); render/ writes it in every
format people open, one module per format.
"""
from .model import (Edge, Event, FunctionDelta, FunctionStats, LineDelta, LineStats, Node, NodeDelta, OffsetStats,
                    Profile, ProfileDiff)
from .profiler import CostTable, load_cost_table, profile
from .session import ProfilingSession, profiling  # sessions on live instances (session.py)
from .many import InputRow, ManyProfile, RunInput, profile_many  # many runs, merged exactly (many.py, wire.py)

__all__ = ["Edge", "Event", "FunctionDelta", "FunctionStats", "LineDelta", "LineStats", "Node", "NodeDelta",
           "OffsetStats", "Profile", "ProfileDiff",
           "CostTable", "load_cost_table", "profile",
           "ProfilingSession", "profiling",
           "InputRow", "ManyProfile", "RunInput", "profile_many"]
