"""PostgreSQL: schema, migrations, and the queries behind the writer and the API."""
