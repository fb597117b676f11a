"""activity reacts to accounts' signals (accounts may not import activity)."""

from django.dispatch import receiver
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Organization
from accounts.roles import Role
from accounts.selectors import org_admins_of, users_with_role
from accounts.signals import organization_registered, organization_state_changed

from .messaging import MessageKind
from .services import notify


@receiver(organization_registered, sender=Organization)
def on_organization_registered(sender, organization, admin_user, **kwargs):
    notify(
        users_with_role(Role.OFFICER),
        kind=MessageKind.ORG_REGISTERED,
        title=_("新单位注册待审核：%(name)s") % {"name": organization.name},
        body=_("%(name)s（%(code)s）已注册，请审核单位信息。") % {"name": organization.name, "code": organization.credit_code},
        link=reverse("admin:accounts_organization_change", args=[organization.pk]),
        target=organization,
        dedupe_key=f"org:{organization.pk}:registered",
    )

@receiver(organization_state_changed, sender=Organization)
def on_organization_state_changed(sender, organization, from_state, to_state, actor, reason, **kwargs):
    if to_state == Organization.State.VERIFIED:
        kind, title = MessageKind.ORG_VERIFIED, _("单位认证已通过")
        body = _("%(name)s 已通过科技局认证，可以提交申报。") % {"name": organization.name}
    elif to_state == Organization.State.RETURNED:
        kind, title = MessageKind.ORG_RETURNED, _("单位认证被退回")
        body = _("%(name)s 的认证被退回，原因：%(reason)s。请修改单位信息后重新提交。") % {
            "name": organization.name,
            "reason": reason,
        }
    else:
        return

    # Key by the audit trail position so a second return later notifies again.
    notify(
        org_admins_of(organization.pk),
        kind=kind,
        title=title,
        body=body,
        link=reverse("accounts:organization"),
        target=organization,
        dedupe_key=f"org:{organization.pk}:{to_state}:{organization.updated_at.timestamp():.6f}",
    )
