"""Attachments: type decided by content, size limit, soft removal, private storage."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from accounts.exceptions import InvalidInput, TransitionRefused
from projects import services
from projects.models import Attachment
from projects.tests.factories import EXE_BYTES, PDF_BYTES, PNG_BYTES, pdf_upload, set_state

pytestmark = pytest.mark.django_db

ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("可行性报告.pdf", EXE_BYTES, "不允许上传该类型的文件"),
        ("营业执照.jpg", EXE_BYTES, "不允许上传该类型的文件"),
        ("run.pdf", ELF_BYTES, "不允许上传该类型的文件"),
        ("报告.pdf", b"just some text pretending to be a pdf", "无法识别文件类型"),
        ("scan.pdf", PNG_BYTES, "与扩展名“.pdf”不符"),
        ("empty.pdf", b"", "文件为空"),
    ],
)
def test_refused_uploads_store_nothing(name, content, message, draft_app, applicant):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    with pytest.raises(InvalidInput, match=message):
        services.add_attachment(actor=applicant, application_id=draft_app.pk, kind="feasibility", uploaded=upload)
    assert not Attachment.objects.exists()


def test_pdf_is_accepted_and_stored_privately(draft_app, applicant, settings):
    attachment = services.add_attachment(
        actor=applicant, application_id=draft_app.pk, kind="feasibility", uploaded=pdf_upload()
    )
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(PDF_BYTES)
    assert attachment.original_name == "可行性报告.pdf"
    assert str(settings.PRIVATE_MEDIA_ROOT) in attachment.file.path
    assert str(settings.STATIC_ROOT) not in attachment.file.path
    with attachment.file.open("rb") as f:
        assert f.read() == PDF_BYTES
    with pytest.raises(ValueError):
        attachment.file.url  # noqa: B018 - private files have no URL


@override_settings(ATTACHMENT_MAX_BYTES=1024)
def test_size_limit(draft_app, applicant):
    big = PDF_BYTES + b"0" * 2048
    with pytest.raises(InvalidInput, match="超过上限"):
        services.add_attachment(actor=applicant, application_id=draft_app.pk, kind="feasibility",
                                uploaded=pdf_upload(content=big))


def test_unknown_kind_refused(draft_app, applicant):
    with pytest.raises(InvalidInput, match="请选择附件类型"):
        services.add_attachment(actor=applicant, application_id=draft_app.pk, kind="", uploaded=pdf_upload())


def test_removal_keeps_the_row_and_no_upload_after_submission(draft_app, applicant):
    attachment = services.add_attachment(
        actor=applicant, application_id=draft_app.pk, kind="feasibility", uploaded=pdf_upload()
    )
    services.remove_attachment(actor=applicant, attachment_id=attachment.pk)
    attachment.refresh_from_db()
    assert attachment.removed_at is not None and attachment.removed_by == applicant
    set_state(draft_app, "submitted")
    with pytest.raises(TransitionRefused):
        services.add_attachment(actor=applicant, application_id=draft_app.pk, kind="feasibility", uploaded=pdf_upload())
