"""Prometheus metrics (prometheus-client), served at /metrics. Domains count what they do here;
the web layer adds request latency and reads the queue depth when scraped."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from backend.core import jobs

REGISTRY = CollectorRegistry()

REQUEST_SECONDS = Histogram(
    "jingpin_request_seconds",
    "HTTP request latency by route template and status class",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONVERSIONS = Counter(
    "jingpin_conversions_total", "DOCX→PDF conversions by outcome", ["outcome"], registry=REGISTRY
)
SIGNATURES = Counter(
    "jingpin_signatures_total",
    "Agreement signatures applied by party",
    ["party"],
    registry=REGISTRY,
)
VERIFICATIONS = Counter(
    "jingpin_verifications_total", "PDF verifications by verdict", ["verdict"], registry=REGISTRY
)
JOB_FAILURES = Counter(
    "jingpin_job_failures_total", "Failed job attempts by task", ["task"], registry=REGISTRY
)
QUEUE_DEPTH = Gauge(
    "jingpin_queue_depth",
    "Jobs waiting per queue (sampled when scraped)",
    ["queue"],
    registry=REGISTRY,
)


def _count_job_failure(task: str) -> None:
    JOB_FAILURES.labels(task=task).inc()


jobs.FAILURE_HOOKS.append(_count_job_failure)
