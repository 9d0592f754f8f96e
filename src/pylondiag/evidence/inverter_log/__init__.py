"""evidence/inverter_log."""
