"""The demo clinic: its patients' stories and their replay through the real services."""
