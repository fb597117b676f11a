"""Every allowed and refused transition of Application and Call, through the one transition service."""

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from activity.models import AuditEvent, Notification
from projects import services
from projects.checklists import FORMAL_REVIEW_CHECKLIST
from projects.models import Application, ApplicationVersion, Call, FormalReview
from projects.services import APPLICATION_WORKFLOW, CALL_WORKFLOW
from projects.tests.factories import CallFactory, set_state

pytestmark = pytest.mark.django_db

A = Application.State
ALL_OK = {code: True for code, _label in FORMAL_REVIEW_CHECKLIST}


def do(name, app, *, applicant, org_admin, officer, reason="理由"):
    """Run transition ``name`` on ``app`` with the actor who is entitled to it."""
    if name == "submit":
        return services.submit_application(actor=applicant, application_id=app.pk)
    if name == "endorse":
        return services.endorse_application(actor=org_admin, application_id=app.pk)
    if name == "org_return":
        return services.org_return_application(actor=org_admin, application_id=app.pk, reason=reason)
    if name in ("accept", "return", "reject"):
        return services.formal_review(
            actor=officer, application_id=app.pk, decision=name, reason=reason, checklist=ALL_OK
        )
    if name == "withdraw":
        return services.withdraw_application(actor=applicant, application_id=app.pk)
    if name == "approve":  # 立项 (the experts app calls it when a 立项 list is approved)
        services.establish_project(actor=officer, application_id=app.pk, granted_amount=Decimal("100000.00"))
        return Application.objects.get(pk=app.pk)
    if name == "not_approve":
        return services.decline_funding(actor=officer, application_id=app.pk, reason=reason)
    raise AssertionError(name)


CASES = [(name, state) for name in APPLICATION_WORKFLOW.transitions for state in A.values]


@pytest.mark.parametrize(("name", "state"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_every_application_transition_from_every_state(name, state, draft_app, applicant, org_admin, officer):
    app = set_state(draft_app, state)
    allowed = APPLICATION_WORKFLOW.allowed(name, state)
    events_before = AuditEvent.objects.count()
    if allowed:
        result = do(name, app, applicant=applicant, org_admin=org_admin, officer=officer)
        assert result.state == APPLICATION_WORKFLOW.get(name).target
        # the application's own latest event (approving also drafts the project's 任务书, which is audited too)
        event = AuditEvent.objects.filter(target_type=ContentType.objects.get_for_model(Application),
                                          target_id=str(result.pk)).latest("id")
        assert (event.verb, event.from_state, event.to_state) == (name, state, result.state)
        assert event.target == result
    else:
        with pytest.raises(TransitionRefused) as exc:
            do(name, app, applicant=applicant, org_admin=org_admin, officer=officer)
        label = str(A(state).label)
        assert label in exc.value.message and str(APPLICATION_WORKFLOW.get(name).label) in exc.value.message
        app.refresh_from_db()
        assert app.state == state
        assert AuditEvent.objects.count() == events_before


def test_submit_assigns_number_version_and_notifies_org_admin(draft_app, applicant, org_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        app = services.submit_application(actor=applicant, application_id=draft_app.pk)
    assert app.number.startswith(f"{app.call.year}-ZDYF-")
    assert app.revision == 1 and app.submitted_at is not None
    version = ApplicationVersion.objects.get(application=app)
    assert version.snapshot["budget_totals"] == {"fiscal": "350000.00", "self": "400000.00"}
    note = Notification.objects.get(recipient=org_admin)
    assert app.title in note.title


def test_returned_application_is_editable_again_and_keeps_history(draft_app, applicant, org_admin, officer):
    app = services.submit_application(actor=applicant, application_id=draft_app.pk)
    services.endorse_application(actor=org_admin, application_id=app.pk)
    app = services.formal_review(actor=officer, application_id=app.pk, decision="return", reason="预算测算说明不充分")
    assert app.state == A.RETURNED and app.is_editable
    assert app.last_reason == "预算测算说明不充分"
    services.update_application(actor=applicant, application_id=app.pk, data={"summary": "补充了预算测算说明"})
    app = services.submit_application(actor=applicant, application_id=app.pk)
    assert app.state == A.SUBMITTED and app.revision == 2
    assert app.last_reason == ""
    assert list(app.versions.values_list("revision", flat=True)) == [1, 2]
    review = FormalReview.objects.get(application=app)
    assert (review.decision, review.comment, review.revision) == ("return", "预算测算说明不充分", 1)
    verbs = list(AuditEvent.objects.filter(target_id=str(app.pk), verb__in=APPLICATION_WORKFLOW.transitions)
                 .order_by("id").values_list("verb", flat=True))
    assert verbs == ["submit", "endorse", "return", "submit"]


def test_number_is_kept_on_resubmission(draft_app, applicant, org_admin):
    app = services.submit_application(actor=applicant, application_id=draft_app.pk)
    number = app.number
    services.org_return_application(actor=org_admin, application_id=app.pk, reason="请补充合作协议")
    app = services.submit_application(actor=applicant, application_id=app.pk)
    assert app.number == number


@pytest.mark.parametrize("name", ["org_return", "return", "reject"])
def test_reason_is_required(name, draft_app, applicant, org_admin, officer):
    state = A.SUBMITTED if name == "org_return" else A.ENDORSED
    app = set_state(draft_app, state)
    with pytest.raises(InvalidInput, match="必须填写理由"):
        do(name, app, applicant=applicant, org_admin=org_admin, officer=officer, reason="  ")
    app.refresh_from_db()
    assert app.state == state


def test_accept_refused_when_a_checklist_item_fails(draft_app, officer):
    app = set_state(draft_app, A.ENDORSED)
    checklist = {**ALL_OK, "attachments": False}
    with pytest.raises(InvalidInput, match="附件齐全"):
        services.formal_review(actor=officer, application_id=app.pk, decision="accept", checklist=checklist)
    app.refresh_from_db()
    assert app.state == A.ENDORSED
    assert not FormalReview.objects.exists()


def test_only_entitled_actors_may_transition(draft_app, applicant, other_applicant, org_admin, officer, expert_user):
    app = set_state(draft_app, A.SUBMITTED)
    with pytest.raises(PermissionRefused):
        services.endorse_application(actor=applicant, application_id=app.pk)  # not org admin
    with pytest.raises(PermissionRefused):
        services.endorse_application(actor=other_applicant, application_id=app.pk)  # admin of another org
    with pytest.raises(PermissionRefused):
        services.formal_review(actor=org_admin, application_id=app.pk, decision="accept", checklist=ALL_OK)
    with pytest.raises(PermissionRefused):
        services.withdraw_application(actor=expert_user, application_id=app.pk)
    with pytest.raises(PermissionRefused):
        services.submit_application(actor=other_applicant, application_id=app.pk)
    app.refresh_from_db()
    assert app.state == A.SUBMITTED


def test_batch_formal_review_reports_each_row(draft_app, officer, open_call, org, applicant):
    from projects.tests.factories import ApplicationFactory

    a = set_state(draft_app, A.ENDORSED)
    b = set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant), A.ENDORSED)
    c = set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant), A.ACCEPTED)
    results = services.batch_formal_review(
        actor=officer, application_ids=[a.pk, b.pk, c.pk], decision="reject", reason="不符合指南支持方向"
    )
    assert [(pk, ok) for pk, ok, _m in results] == [(a.pk, True), (b.pk, True), (c.pk, False)]
    assert "已受理" in results[2][2]
    assert Application.objects.get(pk=c.pk).state == A.ACCEPTED


def test_edit_refused_outside_editable_states(draft_app, applicant):
    app = set_state(draft_app, A.SUBMITTED)
    with pytest.raises(TransitionRefused, match="不能修改"):
        services.update_application(actor=applicant, application_id=app.pk, data={"title": "新标题"})
    app.refresh_from_db()
    assert app.title != "新标题"


# ---- calls --------------------------------------------------------------------------------------


CALL_CASES = [(name, state) for name in CALL_WORKFLOW.transitions for state in Call.State.values]


@pytest.mark.parametrize(("name", "state"), CALL_CASES, ids=[f"{n}-from-{s}" for n, s in CALL_CASES])
def test_every_call_transition(name, state, officer):
    call = CallFactory(state=state)
    fn = services.publish_call if name == "publish" else services.close_call
    if CALL_WORKFLOW.allowed(name, state):
        assert fn(actor=officer, call_id=call.pk).state == CALL_WORKFLOW.get(name).target
    else:
        with pytest.raises(TransitionRefused):
            fn(actor=officer, call_id=call.pk)
        call.refresh_from_db()
        assert call.state == state


def test_publishing_a_call_past_its_deadline_is_refused(officer):
    from datetime import timedelta

    from django.utils import timezone

    call = CallFactory(
        state=Call.State.DRAFT,
        opens_at=timezone.now() - timedelta(days=10),
        closes_at=timezone.now() - timedelta(days=1),
    )
    with pytest.raises(InvalidInput, match="截止时间已过"):
        services.publish_call(actor=officer, call_id=call.pk)


def test_closing_early_moves_the_deadline_so_submission_stops(draft_app, officer, applicant):
    services.close_call(actor=officer, call_id=draft_app.call_id)
    with pytest.raises(InvalidInput, match="申报已截止"):
        services.submit_application(actor=applicant, application_id=draft_app.pk)


def test_applicant_cannot_publish_calls(applicant):
    call = CallFactory(state=Call.State.DRAFT)
    with pytest.raises(PermissionRefused):
        services.publish_call(actor=applicant, call_id=call.pk)


def test_a_call_that_has_not_opened_cannot_be_closed(officer):
    from datetime import timedelta

    from django.utils import timezone

    call = CallFactory(opens_at=timezone.now() + timedelta(days=2), closes_at=timezone.now() + timedelta(days=20))
    with pytest.raises(TransitionRefused, match="尚未开始申报"):
        services.close_call(actor=officer, call_id=call.pk)
    call.refresh_from_db()
    assert call.state == Call.State.PUBLISHED
