"""What operators see of a running gateway: health and readiness (`health.py`), Prometheus metrics
(`metrics.py`), OpenTelemetry spans (`tracing.py`, `mcp_spans.py`), one log line per call (`calllog.py`,
formats in `logformat.py`), all fed by one `Observer` (`observer.py`) that the pipeline and the entry
points report to, and served by `ObservedApp` / `Operations` (`asgi.py`, `operations.py`)."""
