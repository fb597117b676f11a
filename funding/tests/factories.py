"""A project ready for its 任务书: an approved application with its budget and targets, established through the
projects service (so the agreement is drafted by the funding receiver, as in production)."""

from decimal import Decimal

from accounts.tests.factories import UserFactory
from projects import services as project_services
from projects.models import Application, PerformanceTarget
from projects.tests.factories import ApplicationFactory, set_state


def established_project(*, granted=Decimal("300000.00"), organization=None, officer=None, **kwargs):
    kw = {"organization": organization} if organization is not None else {}
    app = ApplicationFactory(**kw, **kwargs)
    PerformanceTarget.objects.create(application=app, kind="output", indicator="发明专利申请", target_value=3,
                                     unit="件", position=0)
    set_state(app, Application.State.ACCEPTED)
    officer = officer or UserFactory(roles=["officer"])
    return project_services.establish_project(actor=officer, application_id=app.pk, granted_amount=granted,
                                              source="测试立项清单")
