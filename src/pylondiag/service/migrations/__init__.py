"""Alembic migrations of the service database, packaged so ``pylondiag serve`` migrates on start."""
