"""Thin resolvers: arguments -> one domain service call -> schema types."""
