"""The web layer: the REST API under /api/v1 (and the pages), thin handlers over the services."""
