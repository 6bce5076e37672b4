"""The read side: every object the API shows is read here, and only here.

Each read is driven by what the client selected: the selection of a GraphQL field, turned
into a neutral `Selection`, is compiled once per shape into SQL (one statement per level,
only the columns and relations asked for) and into functions that build the answer's
dicts straight from the rows. A request's reads share one connection and one consistent
snapshot (`Reader`). The write side (aggregates, unit of work) never answers a read; a
mutation commits, then its payload is read here like any query.
"""
