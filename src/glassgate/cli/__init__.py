"""The `glassgate` command line: serve, db, keys."""
