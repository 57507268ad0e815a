"""Clinic outcomes: how a caseload's patients fare at the 2-, 6- and 12-week checkpoints."""
