"""Prometheus metrics and OpenTelemetry traces: what an operator watches.

``metrics`` holds the process's instruments (one line at each place that counts),
``collector`` the gauges read from the database at scrape time, ``exposition`` the
internal ``/metrics`` listener and the multiprocess set-up of ``backstep serve
--workers N``, ``tracing`` the opt-in OpenTelemetry set-up (``OTEL_*`` variables).
No label or span attribute carries PHI or an unbounded value.
"""
