"""Version of the clinical rule set.

Bump it whenever a rule, threshold default or advice text changes: every alert and plan
decision records the version that produced it, so a clinician can tell which rules were in
force when a decision was made.
"""

RULESET_VERSION = "2026.11.1"
