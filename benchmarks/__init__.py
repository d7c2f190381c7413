"""Benchmarks (pytest-benchmark); run with ``pytest benchmarks``, not part of the test run."""
