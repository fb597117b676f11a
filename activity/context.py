"""Who is asking, from where: set per request by RequestContextMiddleware, read by the audit log."""

from contextvars import ContextVar

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def client_ip(request) -> str | None:
    # Behind a proxy, configure it to set X-Real-IP; we do not trust X-Forwarded-For chains blindly.
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR")
