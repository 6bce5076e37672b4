"""The sales domain: pure Python, no frameworks, no database."""
