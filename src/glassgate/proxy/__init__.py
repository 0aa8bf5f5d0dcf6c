"""The data plane: route, authenticate, forward and relay; capture a copy for tracing.

Nothing here imports `storage` or `api`: the hot path never waits on the database.
"""
