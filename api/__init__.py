"""api: FastAPI — REST with OpenAPI, SSE, and server-rendered pages; token authentication with roles."""
