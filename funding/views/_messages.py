"""How the funding pages show refusals and form errors as messages (shared by the agreement and finance views)."""

from django.contrib import messages


def _flash(request, errors) -> None:
    for message in errors:
        messages.error(request, message)


def _form_messages(form) -> list[str]:
    out = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        out.extend(f"{label}：{m}" if label else str(m) for m in errors)
    return out
