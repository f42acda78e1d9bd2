"""Persistence: the database (embedded or ``DATABASE_URL``) and the runs table."""
