"""Serving private files (attachments, guide documents) through permission-checking views."""

import re
import unicodedata
from urllib.parse import quote

from django.http import FileResponse, Http404


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / RFC 5987 ``filename*``)."""
    filename = re.sub(r"[\r\n\"\\/]", "_", filename or "") or "download"
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._() -]", "_", ascii_name).strip() or "download"
    if "." in filename and "." not in ascii_name:
        ascii_name += "." + filename.rsplit(".", 1)[-1].encode("ascii", "ignore").decode("ascii")
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
