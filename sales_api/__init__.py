"""Sales API: a GraphQL service for selling public-transport tickets."""
