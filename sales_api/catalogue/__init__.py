"""Catalogue data files shipped with the package (the demo network)."""
