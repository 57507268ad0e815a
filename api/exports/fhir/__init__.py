"""The FHIR R4B export: ``codes`` (code systems), ``bundle`` (the builder), ``checks`` (our own checks)."""

from api.exports.fhir.bundle import BundleType, build_bundle, full_url, narrative

__all__ = ["BundleType", "build_bundle", "full_url", "narrative"]
