"""Security review of issue 6 (experts): after an overdue review is reassigned, the cancelled expert can no longer
open the item's material, and the replacement can only once they accept; the links in the review reminders open
for the person who receives them."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from activity.deadlines import Stage, shift
from activity.models import Reminder
from activity.tests.ladder import MINUTE, sweep_at
from experts.models import Assignment
from experts.services import reviews
from projects.models import AttachmentKind
from projects.tests.factories import AttachmentFactory

from .factories import ExpertFactory
from .test_obligations import ALL, REVIEW, accept_all, drawn_round, submit, sweep_acting

pytestmark = pytest.mark.django_db
AS = Assignment.State


def material(a, attachment):
    return [reverse("experts:review", args=[a.pk]), reverse("experts:review_attachment", args=[a.pk, attachment.pk])]


def test_the_cancelled_expert_loses_the_material_and_the_replacement_gets_it_only_after_accepting(
        officer, open_call, django_capture_on_commit_callbacks):
    rnd, item, _b = drawn_round(officer, open_call, experts=3)
    attachment = AttachmentFactory(application_id=item.subject_id, kind=AttachmentKind.FEASIBILITY)
    late, *others = accept_all(item)
    newcomer = ExpertFactory()
    due = rnd.review_deadline
    for other in others:
        submit(other, now=due - datetime.timedelta(hours=1))
    client = Client()
    client.force_login(late.expert.user)
    assert [client.get(url).status_code for url in material(late, attachment)] == [200, 200]

    sweep_acting(shift(due, 2) + MINUTE, [REVIEW], django_capture_on_commit_callbacks)
    late.refresh_from_db()
    assert late.state == AS.CANCELLED
    new = late.replacement
    assert new.expert_id == newcomer.pk and new.state == AS.INVITED

    # the cancelled expert: the material is gone; the invitation page says it was withdrawn and links to nothing
    assert [client.get(url).status_code for url in material(late, attachment)] == [404, 404]
    invitation = client.get(reverse("experts:invitation", args=[late.pk]))
    assert invitation.status_code in (200, 404)
    assert reverse("experts:review_attachment", args=[late.pk, attachment.pk]) not in invitation.content.decode()
    # nor through the replacement's assignment
    assert [client.get(url).status_code for url in material(new, attachment)] == [404, 404]

    # the replacement: not before accepting, then as usual
    client.force_login(newcomer.user)
    assert [client.get(url).status_code for url in material(new, attachment)] == [404, 404]
    assert [client.get(url).status_code for url in material(late, attachment)] == [404, 404]
    reviews.accept_invitation(actor=newcomer.user, assignment_id=new.pk, confirmed=ALL)
    assert [client.get(url).status_code for url in material(new, attachment)] == [200, 200]
    assert [client.get(url).status_code for url in material(late, attachment)] == [404, 404]


def test_the_review_reminders_link_the_expert_to_the_review_page(officer, supervisor, open_call):
    rnd, item, _b = drawn_round(officer, open_call)
    a = accept_all(item)[0]
    due = rnd.review_deadline
    sweep_at(due - datetime.timedelta(days=1) + MINUTE, kinds=[REVIEW])
    sweep_at(due + MINUTE, kinds=[REVIEW])
    reminders = Reminder.objects.filter(kind=REVIEW, object_id=a.pk, recipient=a.expert.user)
    assert {r.stage for r in reminders} == {"d1", Stage.OVERDUE}
    client = Client()
    client.force_login(a.expert.user)
    for r in reminders.select_related("notification"):
        assert client.get(r.notification.link).status_code == 200


def test_the_officers_yellow_card_for_a_late_review_opens(officer, supervisor, open_call):
    rnd, item, _b = drawn_round(officer, open_call)
    a = accept_all(item)[0]
    sweep_at(shift(rnd.review_deadline, 1) + MINUTE, kinds=[REVIEW])
    r = Reminder.objects.select_related("notification").get(kind=REVIEW, object_id=a.pk, stage=Stage.YELLOW,
                                                            recipient=officer)
    client = Client()
    client.force_login(officer)
    assert client.get(r.notification.link).status_code == 200


def test_an_officer_can_open_the_review_office_link(officer, open_call):
    """The office_link the kind offers is the right page for the bureau (only the sweeper picks the wrong one)."""
    rnd, item, _b = drawn_round(officer, open_call)
    client = Client()
    client.force_login(officer)
    assert client.get(reverse("experts:round_item", args=[rnd.pk, item.pk])).status_code == 200


def test_an_unanswered_invitation_reminder_opens_for_the_expert(officer, open_call):
    rnd, item, _b = drawn_round(officer, open_call)
    invited = Assignment.objects.filter(item=item, state=AS.INVITED).select_related("expert__user").first()
    sweep_at(invited.respond_by - datetime.timedelta(days=1) + MINUTE, kinds=["invitation_unanswered"])
    r = Reminder.objects.select_related("notification").get(kind="invitation_unanswered", object_id=invited.pk)
    assert r.recipient_id == invited.expert.user_id
    client = Client()
    client.force_login(invited.expert.user)
    assert client.get(r.notification.link).status_code == 200
    other = ExpertFactory()
    client.force_login(other.user)
    assert client.get(r.notification.link).status_code == 404
