// Benchmarks live here; see docs/benchmarks.md.
print("kiln-bench: no benchmarks yet")
