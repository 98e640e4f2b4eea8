"""profile_many throughput: runs per second, one process against 1 and 2 pool workers, and the
overhead of the Dask and Ray paths over the local pool.

    python bench/many_throughput.py            # short and long runs, pool, Dask, Ray
    python bench/many_throughput.py --quick    # fewer runs, no cluster: a smoke run

Short runs (kernel run(50), about 16k ticks, well under a millisecond) show
what shipping costs: tasks, pickling, the rows and the partial profiles.
Long runs (run(20000), about 12M ticks) show the parallel speed-up.  Each
figure is the best of --repeat runs of the whole workload (start-up of the
pool included; a cluster's start-up is not: it is made once, as a user
would).  It is a measurement, never a test; the machine is shared, so
compare ratios measured side by side.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = str(ROOT / "examples" / "kernel.wasm")


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small workloads, no Dask or Ray")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-cluster", action="store_true", help="skip Dask and Ray")
    opts = ap.parse_args()
    import wasmprof
    from wasmprof.profiles.wire import PartialProfile

    workloads = {"short": (50, 200 if opts.quick else 4000), "long": (20000, 4 if opts.quick else 60)}
    repeat = 1 if opts.quick else opts.repeat
    executors = {}
    cluster_notes = []
    if not (opts.quick or opts.no_cluster):
        try:
            import distributed

            cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                               silence_logs=40)
            executors["dask (2 workers)"] = distributed.Client(cluster)
        except ImportError:
            cluster_notes.append("dask: not installed (pip install wasmprof[dask])")
        try:
            import ray

            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            executors["ray (2 CPUs)"] = "ray"
        except ImportError:
            cluster_notes.append("ray: not installed (pip install wasmprof[ray])")

    print(f"profile_many throughput on {os.cpu_count()} cores, kernel.wasm run(n); best of {repeat}")
    print(f"{'workload':<28} {'how':<22} {'runs/s':>10} {'vs 1 process':>13}")
    for name, (n, count) in workloads.items():
        inputs = [n] * count

        def in_process() -> None:
            total = None
            for x in inputs:
                part = PartialProfile.from_profile(wasmprof.profile(KERNEL, invoke="run", args=(x,)))
                total = part if total is None else total.add(part)

        ticks = wasmprof.profile(KERNEL, invoke="run", args=(n,)).total_ticks
        label = f"{name}: {count} x {ticks:,} ticks"
        base = count / best(in_process, repeat)
        print(f"{label:<28} {'1 process, no pool':<22} {base:>10,.0f} {1.0:>12.2f}x")
        rates = {}
        for how, kw in [("pool, 1 worker", dict(workers=1)), ("pool, 2 workers", dict(workers=2))] + \
                [(k, dict(executor=v)) for k, v in executors.items()]:
            result = []

            def run() -> None:
                result.append(wasmprof.profile_many(KERNEL, inputs, invoke="run", progress=False, **kw))

            rate = count / best(run, repeat)
            assert result[-1].profile.root.calls == count and not result[-1].failed
            rates[how] = rate
            print(f"{'':<28} {how:<22} {rate:>10,.0f} {rate / base:>12.2f}x")
        for how in executors:
            print(f"{'':<28} {how + ' time / pool(2)':<32} {rates['pool, 2 workers'] / rates[how]:>12.2f}x")
    for note in cluster_notes:
        print(note)
    for how, ex in executors.items():
        if ex == "ray":
            import ray

            ray.shutdown()
        else:
            ex.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
