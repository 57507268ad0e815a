"""Who follows a patient: the care team, its statement to the patient, and the unassigned-patients queue."""
