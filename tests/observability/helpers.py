"""Scraping the metrics listener as Prometheus does, and reading samples out of it."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from api.observability.listener import MetricsListener

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(listener: MetricsListener, token: str | None = None) -> tuple[set[str], Samples]:
    """GET /metrics: the family names and every sample (name + labels -> value)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx2.get(f"http://127.0.0.1:{listener.port}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    families: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return families, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def label_values(samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float], name: str, label: str) -> set[str]:
    return {dict(found)[label] for (n, found) in samples if n == name and label in dict(found)}
