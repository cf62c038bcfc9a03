"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.conf.py`.

- 2 sync workers by default (`WEB_CONCURRENCY`), bound to localhost behind nginx (TLS there).
- prometheus-client multiprocess mode: every worker writes its metrics to
  `PROMETHEUS_MULTIPROC_DIR`; /metrics merges them; a worker that exits is marked dead.
- The access log masks the webhook token (`?token=…` → `token=***`) and never holds request
  bodies (gunicorn never logs bodies; the format below names no header that could carry one).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# The project root on the path, so `config.redaction` and `wsgi` import whatever the cwd.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Must be in the environment before the app (and prometheus_client) is imported by a worker.
_instance = Path(os.environ.get("MBOLO_INSTANCE_DIR", ROOT / "instance"))
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_instance / "prometheus_multiproc"))
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

from gunicorn.glogging import Logger  # noqa: E402

from config.redaction import SecretFilter  # noqa: E402

wsgi_app = "wsgi:app"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# A hop must answer within the aggregator's few seconds; a stuck worker is recycled.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Bodies over 4 KB get 413 from the app; request lines and headers are bounded here.
limit_request_line = 4094
limit_request_fields = 50
preload_app = False
# No gunicornc control socket: one shared default path would collide between instances.
control_socket_disable = True
proxy_protocol = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# %(r)s is the request line: method, path and query (masked below), protocol. pid for debugging.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s" pid=%(p)s'


class MaskingLogger(Logger):
    """gunicorn's logger with every access and error line passed through the token mask."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, SecretFilter) for f in log.filters):
                log.addFilter(SecretFilter())


logger_class = MaskingLogger

_METRIC_FILE = re.compile(r"^[a-z_]+_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server):
    """Create the metrics directory and drop the files of processes that no longer run.

    Files of live processes stay: the RQ worker may share the directory (one host, one
    /metrics). Dropping dead ones resets those counters, which Prometheus reads as a restart.
    """
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("REDIS_URL"):
        # Embedded defaults: the master starts the one redis-server and stops it in on_exit; the
        # workers inherit its URL and are plain clients (none of them owns it, none leaks it).
        from config.embedded import embedded_redis_url

        os.environ["REDIS_URL"] = embedded_redis_url(str(_instance))
    for path in METRICS_DIR.glob("*.db"):
        match = _METRIC_FILE.match(path.name)
        if match and not _alive(int(match[1])):
            path.unlink(missing_ok=True)


def child_exit(server, worker):
    """A worker exited: its live gauges no longer count (its counters still do)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(METRICS_DIR))


def on_exit(server):
    """The master stops: so does the embedded redis-server it started, if any."""
    from config.embedded import stop_embedded

    stop_embedded()
