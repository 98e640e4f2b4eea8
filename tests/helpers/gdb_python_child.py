"""gdb_python_child.py GUEST.wasm MODE: a Python process that runs a guest
for tests/debugging/test_gdb_python.py and test_lldb.py and, inside the host import env.host_cb, waits
for a debugger:

  sleep   print "host_cb ptr=P n=N pid=PID", then sleep (gdb -p attaches)
  signal  raise SIGUSR1 (GDB, running the process, stops there)
  abort   print VmRSS (resident memory) and abort (a core file)
A third argument "debugger" runs the guest under wasmprof's own debugger
(the stepping loop) instead of a plain call.
"""
import os
import signal
import sys
import time

import wasmprof


def main() -> None:
    path, mode = sys.argv[1], sys.argv[2]

    def host_cb(ptr: int, n: int) -> int:
        print(f"host_cb ptr={ptr} n={n} pid={os.getpid()}", flush=True)
        if mode == "sleep":
            time.sleep(120)  # the test kills the process long before
        elif mode == "signal":
            os.kill(os.getpid(), signal.SIGUSR1)
        elif mode == "abort":
            with open("/proc/self/status") as status:
                print("".join(line for line in status if line.startswith("VmRSS:")), end="", flush=True)
            os.abort()
        return n + 1000

    inst = wasmprof.Instance(wasmprof.Module.from_file(path),
                             {"env": {"host_cb": wasmprof.Func(host_cb, params=["i32", "i32"], results=["i32"])}})
    if sys.argv[3:] == ["debugger"]:
        dbg = inst.debug()
        dbg.call("run", 4)
        print("stop", dbg.cont(), flush=True)
    else:
        print("result", inst.exports.run(4), flush=True)


if __name__ == "__main__":
    main()
