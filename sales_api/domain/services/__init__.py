"""Use cases: each runs one unit of work."""
