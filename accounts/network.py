"""The client's IP address, as the audit log and the login lockout see it."""

import ipaddress

from django.conf import settings


def _valid(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the X-Real-IP header when (and only when) the request comes from a trusted proxy.

    Behind nginx, set TRUSTED_PROXIES to the proxy's address and have it overwrite X-Real-IP
    (``proxy_set_header X-Real-IP $remote_addr;``). A header sent by anyone else is ignored, and a
    value that is not an IP address is never used.
    """
    remote = _valid(request.META.get("REMOTE_ADDR"))
    if remote is not None and remote in settings.TRUSTED_PROXIES:
        forwarded = _valid(request.META.get("HTTP_X_REAL_IP"))
        if forwarded is not None:
            return forwarded
    return remote
