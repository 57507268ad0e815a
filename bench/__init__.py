"""Reproducible benchmarks of SPEC §5 (see bench/README.md)."""
