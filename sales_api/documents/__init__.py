"""Adapters that turn domain documents (tickets, receipts) into files."""
