"""Benchmarks: `python -m benchmarks` (timings live here, never in the test suite)."""
