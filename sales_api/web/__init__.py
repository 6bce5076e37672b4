"""The request edge: tokens, headers, correlation ids and the GraphQL view."""
