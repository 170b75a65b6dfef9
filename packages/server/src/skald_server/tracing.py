"""Optional OpenTelemetry tracing (the ``tracing`` setting): Litestar's OpenTelemetry plugin,
one server span per request named by its route template (never ids), when the OpenTelemetry
packages are installed (``pip install opentelemetry-sdk opentelemetry-instrumentation-asgi``).
Off by default, and then nothing of OpenTelemetry is imported.

Where the spans go is OpenTelemetry's own configuration: the global tracer provider, which
``opentelemetry-instrument skald serve`` (``opentelemetry-distro`` and an exporter) sets from
the ``OTEL_*`` environment."""

from __future__ import annotations

from typing import Any

from skald_core.errors import InvalidArgumentError

PACKAGES = "opentelemetry-sdk opentelemetry-instrumentation-asgi"
#: Polled or scraped, not worth a trace each.
UNTRACED = ("^/health$", "^/ready$", "^/metrics$")


def available() -> bool:
    try:
        import opentelemetry.instrumentation.asgi  # noqa: F401
    except ImportError:
        return False
    return True


def check(enabled: bool) -> None:
    """``InvalidArgumentError`` (a clean start-up refusal) when tracing is asked for and its
    packages are missing."""
    if enabled and not available():
        raise InvalidArgumentError(
            f"tracing is on but the OpenTelemetry packages are not installed: pip install {PACKAGES}"
        )


def _span_details(scope: Any) -> tuple[str, dict[str, Any]]:
    """``METHOD /route/{template}``: the matched route, never the path (ids stay out)."""
    route = str(scope.get("path_template") or "unmatched")
    name = f"{scope.get('method', '')} {route}".strip()
    return name, {"http.route": route}


async def name_span(message: Any, scope: Any) -> None:
    """A ``before_send`` hook: once the route is known, name the request's server span by
    it (the middleware opens the span before routing, when only the path is known)."""
    if message["type"] != "http.response.start":
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        name, attributes = _span_details(scope)
        span.update_name(name)
        span.set_attributes(attributes)


def plugin(enabled: bool, tracer_provider: Any = None) -> Any:
    """Litestar's OpenTelemetry plugin, or None when tracing is off."""
    if not enabled:
        return None
    check(enabled)
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

    return OpenTelemetryPlugin(
        OpenTelemetryConfig(
            tracer_provider=tracer_provider,
            exclude=list(UNTRACED),
            scope_span_details_extractor=_span_details,
        )
    )
