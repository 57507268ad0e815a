"""A patient's record for other systems: a FHIR R4B Bundle and a day-by-day CSV."""
