"""The triage list's current-state rows: saved and refreshed here, decided by ``api.rules.standing``."""
