"""Benchmarks: throughput, latency and quality measurements with a JSON result per run (not timed tests)."""
