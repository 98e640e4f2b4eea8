"""Interrupting a guest in Jupyter: a real IPython kernel (jupyter_client +
ipykernel) runs an endless guest loop in a cell; the kernel interrupt (a
SIGINT, as the notebook's stop button sends) ends the cell with
KeyboardInterrupt and the next cell can use the instance again.

Skipped when jupyter_client or ipykernel is not installed."""

from __future__ import annotations

import queue
import time

import pytest

from conftest import python_env

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

SETUP = '''
import wasmprof, wasmtime
inst = wasmprof.Instance(wasmprof.Module(bytes(wasmtime.wat2wasm("""
  (module (func (export "spin") (loop $l (br $l)))
          (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""))))
'''


def wait_reply(kc, msg_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no reply within {timeout} s") from None
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def test_kernel_interrupt_stops_a_guest_loop():
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=python_env())
    try:
        assert wait_reply(kc, kc.execute(SETUP), 60)["status"] == "ok"
        msg_id = kc.execute("inst.exports.spin()")
        time.sleep(1.0)  # the cell is running the endless loop
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
