"""Tables, repositories, the unit of work and migrations: the only door to the database."""
