"""Interrupting a guest in Jupyter: a real IPython kernel (jupyter_client +
ipykernel) runs an endless guest loop in a cell; the kernel interrupt (a
SIGINT, as the notebook's stop button sends) ends the cell with
KeyboardInterrupt and the next cell can use the instance again.

Skipped when jupyter_client or ipykernel is not installed."""

from __future__ import annotations

import queue
import time

import pytest

from helpers.env import python_env

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

# spin tells the notebook it is running (a host call that prints) and loops.
SETUP = '''
import wasmprof, wasmtime
inst = wasmprof.Instance(wasmprof.Module(bytes(wasmtime.wat2wasm("""
  (module (import "env" "running" (func $running))
          (func (export "spin") (call $running) (loop $l (br $l)))
          (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""))),
  {"env": {"running": lambda: print("guest running", flush=True)}})
'''
MARKER = "guest running"


def wait_reply(kc, msg_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no reply within {timeout} s") from None
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def wait_until_guest_runs(kc, msg_id: str, timeout: float) -> None:
    """Wait for the kernel to report the cell busy, then for the guest's own
    marker on the cell's stdout: the cell is inside spin (its host call or,
    an instant later, the loop; tests/core/test_interrupt.py checks where a guest
    stops)."""
    deadline = time.monotonic() + timeout
    busy = False
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the guest did not start within {timeout} s (busy seen: {busy})") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        content = msg["content"]
        if msg["msg_type"] == "status" and content.get("execution_state") == "busy":
            busy = True
        elif busy and msg["msg_type"] == "stream" and MARKER in content.get("text", ""):
            return


def test_kernel_interrupt_stops_a_guest_loop():
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=python_env())
    try:
        assert wait_reply(kc, kc.execute(SETUP), 60)["status"] == "ok"
        # stop_on_error=False: otherwise ipykernel aborts requests queued while it
        # handles the error, and the next cell could come back "aborted".
        msg_id = kc.execute("inst.exports.spin()", stop_on_error=False)
        wait_until_guest_runs(kc, msg_id, 60)
        sent = time.monotonic()
        km.interrupt_kernel()
        content = wait_reply(kc, msg_id, 5.0)  # hang guard, not a timing assertion
        print(f"jupyter interrupt latency: {(time.monotonic() - sent) * 1000:.1f} ms")
        assert content["status"] == "error"
        assert content["ename"] == "KeyboardInterrupt"
        after = kc.execute("assert inst.exports.add(2, 3) == 5")
        assert wait_reply(kc, after, 30)["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
