"""The FastAPI app: the REST API under /api/v1 and the HTML pages, thin over the services."""
