"""The GraphQL schema: types, inputs, scalars, filters, the Query and Mutation roots."""
