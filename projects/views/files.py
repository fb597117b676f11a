"""Serving private files (attachments, guide documents) through permission-checking views."""

import re
import unicodedata
from urllib.parse import quote

from django.http import FileResponse, Http404


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / RFC 5987 ``filename*``)."""
    filename = re.sub(r"[\r\n\"\\/]", "_", filename or "") or "download"
    stem, dot, ext = filename.rpartition(".") if "." in filename else (filename, "", "")

    def to_ascii(text):
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        return re.sub(r"[^A-Za-z0-9_() -]", "_", text).strip(" _")

    ascii_name = (to_ascii(stem) or "download") + (("." + to_ascii(ext)) if dot and to_ascii(ext) else "")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_download(fieldfile, *, filename: str, content_type: str) -> FileResponse:
    """A FileResponse for a stored file, always as an attachment and never sniffed by the browser."""
    try:
        handle = fieldfile.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition(filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response
