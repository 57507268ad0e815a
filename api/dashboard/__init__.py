"""The clinicians' web dashboard: server-rendered pages under ``/dashboard``."""
