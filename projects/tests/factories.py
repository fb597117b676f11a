import datetime
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from projects.models import Application, Attachment, AttachmentKind, BudgetLine, Call, Program

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"PE\x00\x00" + b"\x00" * 64


def pdf_upload(name="可行性报告.pdf", content=PDF_BYTES):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        django_get_or_create = ("code",)

    name = "重点研发计划"
    code = "zdyf"
    kind = Program.Kind.ORDINARY
    managing_office = "高新技术处"


class CallFactory(factory.django.DjangoModelFactory):
    """A published call, open now for 30 days."""

    class Meta:
        model = Call

    program = factory.SubFactory(ProgramFactory)
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    title = factory.Sequence(lambda n: f"重点研发计划项目申报指南{n}")
    guide = "支持方向：人工智能、生物医药、新材料。"
    opens_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=30))
    total_budget = Decimal("10000000.00")
    cap_per_project = Decimal("500000.00")
    min_self_funding_ratio = Decimal("0.5")
    state = Call.State.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A draft application, filled in enough to pass every submit check against CallFactory."""

    class Meta:
        model = Application
        skip_postgeneration_save = True

    call = factory.SubFactory(CallFactory)
    organization = factory.SubFactory(OrganizationFactory)
    created_by = factory.SubFactory(
        UserFactory, organization=factory.SelfAttribute("..organization"), roles=["applicant"]
    )
    title = factory.Sequence(lambda n: f"基于大模型的工业质检关键技术研究{n}")
    summary = "研究工业视觉缺陷检测的关键技术。"
    keywords = "人工智能，工业质检"
    discipline_code = "520.20"
    start_date = datetime.date(2027, 1, 1)
    end_date = datetime.date(2028, 12, 31)
    leader_name = factory.Sequence(lambda n: f"负责人{n}")
    leader_title = "高级工程师"
    leader_phone = factory.Sequence(lambda n: f"139{n:08d}")
    leader_email = factory.Sequence(lambda n: f"leader{n}@example.com")
    state = Application.State.DRAFT

    @factory.post_generation
    def budget(self, create, extracted, **kwargs):
        """budget=None (default) adds a valid budget; budget=False adds none; or a dict category→(fiscal, self)."""
        if extracted is False or not create:
            return
        lines = extracted or {
            "equipment": (Decimal("200000.00"), Decimal("200000.00")),
            "business": (Decimal("100000.00"), Decimal("150000.00")),
            "labour": (Decimal("50000.00"), Decimal("50000.00")),
        }
        BudgetLine.objects.bulk_create(
            [
                BudgetLine(application=self, category=c, fiscal_amount=Decimal(f), self_amount=Decimal(s))
                for c, (f, s) in lines.items()
            ]
        )


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    application = factory.SubFactory(ApplicationFactory)
    kind = AttachmentKind.FEASIBILITY
    file = factory.django.FileField(filename="report.pdf", data=PDF_BYTES)
    original_name = "可行性报告.pdf"
    content_type = "application/pdf"
    size = len(PDF_BYTES)
    sha256 = "0" * 64
    uploaded_by = factory.SelfAttribute("application.created_by")


# States an application can only be in after its organisation endorsed it.
BUREAU_STATES = (
    Application.State.ENDORSED,
    Application.State.ACCEPTED,
    Application.State.RETURNED,
    Application.State.REJECTED,
    Application.State.APPROVED,
    Application.State.NOT_APPROVED,
)


def set_state(app: Application, state: str, **fields) -> Application:
    """Put an application straight into a state for a test (bypasses the service on purpose)."""
    values = {"state": state, **fields}
    if state != Application.State.DRAFT and not app.number:
        values.setdefault("number", f"TEST-{app.pk:06d}")
        values.setdefault("revision", 1)
        values.setdefault("submitted_at", timezone.now())
    if state in BUREAU_STATES and app.reached_bureau_at is None:
        values.setdefault("reached_bureau_at", timezone.now())
    Application.objects.filter(pk=app.pk).update(**values)
    app.refresh_from_db()
    return app
