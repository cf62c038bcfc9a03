"""GET /metrics: Prometheus text for every gunicorn worker (multiprocess mode), plus requests counted.

Under gunicorn `PROMETHEUS_MULTIPROC_DIR` is set (config/gunicorn.conf.py) and each scrape
merges the files of all processes, whichever worker answers. Without it (`flask run`, tests)
the process's own registry is served. Either way the database-derived gauges are computed
for this scrape by `sms.telemetry.DatabaseCollector`.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from sms.telemetry import HTTP_REQUESTS, DatabaseCollector

bp = Blueprint("metrics", __name__)


class _ProcessRegistry:
    """The default registry seen as one collector (single-process mode)."""

    def collect(self):
        yield from REGISTRY.collect()


def scrape_registry(runtime) -> CollectorRegistry:
    """A registry for one scrape: all processes' metrics and the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(DatabaseCollector(runtime.sessions, runtime.clock))
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition text."""
    from ussd_app.current import runtime

    return Response(generate_latest(scrape_registry(runtime())), mimetype=CONTENT_TYPE_LATEST)


def _count_request(response: Response) -> Response:
    # The endpoint name, never the path: paths may carry anything a client sends.
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
    HTTP_REQUESTS.labels(endpoint, str(response.status_code)).inc()
    return response


def init_app(app: Flask) -> None:
    """Register /metrics and count every request by endpoint and status."""
    app.register_blueprint(bp)
    app.after_request(_count_request)
