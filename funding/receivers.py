"""funding reacts to what projects announces (projects never imports funding): a new project gets its draft
任务书; a passed checkpoint makes the tranches waiting for it due; a terminated project ends its 任务书, and when a
checkpoint conclusion ended it, the recovery order is opened (``outcomes``)."""

from django.dispatch import receiver

from projects.signals import checkpoint_passed, project_established, project_terminated

from . import outcomes, services


@receiver(project_established, dispatch_uid="funding.draft_agreement")
def draft_agreement_for_new_project(sender, project, actor=None, **kwargs):
    services.draft_agreement(project_id=project.pk, actor=actor)


@receiver(checkpoint_passed, dispatch_uid="funding.checkpoint_passed")
def tranches_due_on_checkpoint(sender, project, checkpoint, actor=None, now=None, **kwargs):
    services.checkpoint_passed(project_id=project.pk, checkpoint=checkpoint, actor=actor, now=now)


@receiver(project_terminated, dispatch_uid="funding.project_terminated")
def end_agreement_of_terminated_project(sender, project, actor=None, reason="", fault=False, recover=False,
                                        spent_fiscal=None, now=None, **kwargs):
    services.agreement_terminated(project_id=project.pk, actor=actor, reason=reason, now=now)
    if recover:
        outcomes.recover_after_conclusion(project_id=project.pk, actor=actor, reason=reason, fault=fault,
                                          spent_fiscal=spent_fiscal, now=now)
