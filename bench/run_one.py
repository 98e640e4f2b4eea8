import sys, wasmprof
name, size = sys.argv[1], sys.argv[2]
out = bytearray()
wasmprof.run(f"/work/wt/perf/bench/programs/{name}.wasm", wasi=wasmprof.Wasi(args=[name, size], stdout=out))
sys.stdout.write(out.decode())
