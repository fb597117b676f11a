"""Who is asking, from where: set per request by RequestContextMiddleware, read by the audit log."""

from contextvars import ContextVar

from accounts.network import client_ip

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)

__all__ = ["client_ip", "current_ip"]
