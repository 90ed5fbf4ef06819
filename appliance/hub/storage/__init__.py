"""The hub's storage: its two database backends (SQLite, PostgreSQL), the numbered migrations, and one module per
group of tables holding every SQL statement of the hub. The hub's services call these functions; its routes call
the services. Imports only the hub's settings, protocol and base modules (and psycopg, in postgres.py alone); never the
hub's services or routes.
"""
