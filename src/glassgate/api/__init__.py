"""The management REST API under /api/v1 (OpenAPI, problem+json errors)."""
