"""Escalation: the rules' alert decisions acted on (alerts raised, the plan paused, the patient told)."""
