"""evidence/console."""
