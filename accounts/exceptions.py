"""Domain errors shared by every app, and how the API turns them into responses.

A service refuses bad input or a forbidden transition by raising one of these; views show the
message as a form error or a flash message, the API answers 400/409 with the reason. Never a 500.
"""

import datetime

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A business rule refused the request. ``messages`` are user-facing, already translated."""

    http_status = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(self, messages, *, code: str | None = None):
        if isinstance(messages, (str,)) or not hasattr(messages, "__iter__"):
            messages = [messages]
        self.messages = [str(m) for m in messages]
        if code:
            self.code = code
        super().__init__("；".join(self.messages))

    @property
    def message(self) -> str:
        return "；".join(self.messages)


class InvalidInput(DomainError):
    """The input breaks a rule (a submit check, a money limit…)."""


class TransitionRefused(DomainError):
    """The object is not in a state from which this transition is allowed (or someone got there first)."""

    http_status = status.HTTP_409_CONFLICT
    code = "transition_refused"


class PermissionRefused(DomainError):
    http_status = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            {"detail": exc.message, "code": exc.code, "errors": exc.messages},
            status=exc.http_status,
        )
    return drf_exception_handler(exc, context)


def parse_date(value, label) -> datetime.date:
    """A date from a form or an API body (a date, a datetime or YYYY-MM-DD text); ``InvalidInput`` naming the field
    ``label`` otherwise. Shared by the services that take dates typed by users."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("%(f)s日期格式无效，应为 YYYY-MM-DD。") % {"f": label}) from None
