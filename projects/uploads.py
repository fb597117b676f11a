"""Upload checks: the type is decided by the file's content (magic numbers), never by its name."""

import hashlib

import filetype
from django.conf import settings
from django.utils.translation import gettext as _

from accounts.exceptions import InvalidInput

# detected type → the file-name extensions that may carry it
ALLOWED_TYPES: dict[str, set[str]] = {
    "pdf": {"pdf"},
    "doc": {"doc"},
    "docx": {"docx"},
    "xls": {"xls"},
    "xlsx": {"xlsx"},
    "jpg": {"jpg", "jpeg"},
    "png": {"png"},
}
ALLOWED_LABEL = "PDF、Word（doc/docx）、Excel（xls/xlsx）、JPG、PNG"
HEAD_BYTES = 8192


def inspect_upload(uploaded) -> dict:
    """Check an uploaded file; return its detected content type, size and SHA-256, or raise InvalidInput."""
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    size = uploaded.size
    if not size:
        raise InvalidInput(_("文件为空，请重新选择。"))
    if size > max_bytes:
        raise InvalidInput(
            _("文件大小 %(size).1f MB 超过上限 %(max).0f MB。") % {"size": size / 1048576, "max": max_bytes / 1048576}
        )
    uploaded.seek(0)
    head = uploaded.read(HEAD_BYTES)
    kind = filetype.guess(head)
    if kind is None:
        raise InvalidInput(_("无法识别文件类型，仅支持 %(allowed)s。") % {"allowed": ALLOWED_LABEL})
    if kind.extension not in ALLOWED_TYPES:
        raise InvalidInput(
            _("不允许上传该类型的文件（按内容识别为 %(detected)s），仅支持 %(allowed)s。")
            % {"detected": kind.mime, "allowed": ALLOWED_LABEL}
        )
    name = uploaded.name or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in ALLOWED_TYPES[kind.extension]:
        raise InvalidInput(
            _("文件内容（%(detected)s）与扩展名“.%(ext)s”不符，请检查文件。") % {"detected": kind.extension, "ext": ext}
        )
    digest = hashlib.sha256()
    uploaded.seek(0)
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return {"content_type": kind.mime, "size": size, "sha256": digest.hexdigest(), "extension": kind.extension}
