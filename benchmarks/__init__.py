"""The benchmark suite: every figure side by side with a baseline measured in the same run.

`scripts/bench` (or `python -m benchmarks`) runs every benchmark, prints a table and rewrites
`benchmarks/RESULTS.md`. Each module exposes `run(size) -> Section`; the test suite runs each
once at `Size.TINY` to prove it works, without asserting on speed.

Clients and servers that are measured run in their own processes, so the server's work never
counts as the client's, and CPU time is the measured process's own.
"""
