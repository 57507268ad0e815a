"""Backstep's clinical rules: a pure functional core (CLINICAL_RULES.md).

No web framework, ORM, HTTP client or database imports; no clock reads (``today``/``after``
are parameters); no I/O (the catalogue CLI aside). Frozen dataclasses in, decisions out,
each stamped with ``RULESET_VERSION``. Import from the submodules: ``types``, ``settings``,
``screenings``, ``triage``, ``advice``, ``windows``, ``monitoring``, ``progression``
(with ``flare`` and ``walking``), ``reminders_due``, ``registry`` (one entry per alert rule)
and ``catalogue`` (its rendering).
"""

from api.rules.version import RULESET_VERSION

__all__ = ["RULESET_VERSION"]
