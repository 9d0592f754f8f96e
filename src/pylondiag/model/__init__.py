"""Pydantic models of what pylondiag reads and concludes: console records, events, cases, diagnoses."""
