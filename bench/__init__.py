"""Benchmarks of the Sales API: `python -m bench.run` (see bench/README.md)."""
