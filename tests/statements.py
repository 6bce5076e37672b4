"""Recording the SQL the app sends (the write side's and the read side's): one helper, the
benchmark's, so tests and the benchmark count alike."""

from bench.statement_counts import Recorded, recorded

recorded_statements = recorded

__all__ = ["Recorded", "recorded_statements"]
