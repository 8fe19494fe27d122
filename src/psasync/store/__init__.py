"""Persistence: SQLAlchemy models, repositories and migrations. Imports the domain only."""
