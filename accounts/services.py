from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .exceptions import InvalidInput, PermissionRefused
from .models import CreditRecord, Organization, User
from .roles import Role
from .signals import organization_registered, organization_state_changed
from .validators import normalize_credit_code, normalize_id_number, validate_credit_code
from .workflow import T, Workflow, record_audit, run_transition

S = Organization.State
ORGANIZATION_WORKFLOW = Workflow(
    "accounts.Organization",
    S,
    [
        T("verify", [S.PENDING], S.VERIFIED, gettext_lazy("认证通过")),
        T("return", [S.PENDING], S.RETURNED, gettext_lazy("退回"), needs_reason=True),
        T("resubmit", [S.RETURNED], S.PENDING, gettext_lazy("重新提交认证")),
    ],
)

# Fields an organisation may not change by itself once the bureau has verified it: who it is, and the
# qualifications that calls require (a verified 高企 certificate cannot be re-declared by the applicant).
LOCKED_WHEN_VERIFIED = (
    "name",
    "credit_code",
    "kind",
    "high_tech_cert_no",
    "high_tech_expires",
    "tech_sme_no",
    "tech_sme_year",
)
PROFILE_FIELDS = (
    "name",
    "credit_code",
    "kind",
    "region",
    "address",
    "legal_representative",
    "contact_name",
    "contact_phone",
    "contact_email",
    "high_tech_cert_no",
    "high_tech_expires",
    "tech_sme_no",
    "tech_sme_year",
)


def _groups(*roles: Role) -> list[Group]:
    return list(Group.objects.filter(name__in=[str(r) for r in roles]))


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as e:
        raise InvalidInput(e.messages) from None


@transaction.atomic
def register_organization(
    *, organization: dict, username: str, password: str, email: str, real_name: str, phone: str = ""
) -> tuple[Organization, User]:
    """Self-registration: a new organisation (待审核) and its first user as 单位管理员."""
    code = normalize_credit_code(organization.get("credit_code", ""))
    try:
        validate_credit_code(code)
    except ValidationError as e:
        raise InvalidInput(e.messages) from None
    if Organization.objects.filter(credit_code=code).exists():
        raise InvalidInput(_("该统一社会信用代码已注册，请联系本单位管理员为您开通账号。"))
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("用户名已被使用。"))
    org = Organization(**{k: v for k, v in organization.items() if k in PROFILE_FIELDS})
    org.credit_code = code
    org.state = S.PENDING
    try:
        org.full_clean()
    except ValidationError as e:
        raise InvalidInput(e.messages) from None
    user = User(username=username, email=email, real_name=real_name, phone=phone, organization=org)
    _check_password(password, user)
    try:
        org.save()
        user.organization = org
        user.set_password(password)
        user.save()
    except IntegrityError:
        raise InvalidInput(_("该统一社会信用代码或用户名已注册。")) from None
    user.groups.set(_groups(Role.APPLICANT, Role.ORG_ADMIN))
    record_audit(actor=user, verb="register", target=org, to_state=org.state)
    organization_registered.send(sender=Organization, organization=org, admin_user=user)
    return org, user


def _save_profile(org: Organization, data: dict, *, locked: tuple[str, ...] = ()) -> dict:
    """Apply the profile fields in ``data`` to the locked ``org``; returns {field: [old, new]} of what changed.

    A change to a field in ``locked`` is refused. Validation errors become InvalidInput; nothing is saved then.
    """
    changed = {}
    for field in PROFILE_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field == "credit_code":
            value = normalize_credit_code(value)
        if getattr(org, field) != value:
            if field in locked:
                raise InvalidInput(
                    _("单位已认证，%(field)s 不能自行修改，请联系科技局。")
                    % {"field": Organization._meta.get_field(field).verbose_name}
                )
            changed[field] = [str(getattr(org, field) or ""), str(value or "")]
            setattr(org, field, value)
    if changed:
        try:
            org.full_clean()
        except ValidationError as e:
            raise InvalidInput(e.messages) from None
        org.save()
    return changed


@transaction.atomic
def update_organization(*, actor: User, organization_id: int, data: dict) -> Organization:
    """The org admin edits the profile; once verified, identity and qualifications are the bureau's."""
    org = Organization.objects.select_for_update().get(pk=organization_id)
    if not actor.has_perm("accounts.edit_organization", org):
        raise PermissionRefused(_("只有本单位管理员可以修改单位信息。"))
    locked = LOCKED_WHEN_VERIFIED if org.state == S.VERIFIED else ()
    changed = _save_profile(org, data, locked=locked)
    if changed:
        record_audit(actor=actor, verb="update", target=org, data={"changed": changed})
    return org


@transaction.atomic
def correct_organization(*, actor: User, organization_id: int, data: dict) -> Organization:
    """The bureau corrects an organisation's profile (Django admin), identity fields included.

    The verification state is not touched here: it changes only through the transitions.
    """
    if not actor.has_perm("accounts.verify_organization"):
        raise PermissionRefused(_("只有科技局业务人员可以更正单位信息。"))
    org = Organization.objects.select_for_update().get(pk=organization_id)
    changed = _save_profile(org, data)
    if changed:
        record_audit(actor=actor, verb="update", target=org, data={"changed": changed, "by_bureau": True})
    return org


def _org_transition(name: str, *, actor: User, organization_id: int, reason: str = "", apply=None):
    def after(org, from_state):
        organization_state_changed.send(
            sender=Organization,
            organization=org,
            from_state=from_state,
            to_state=org.state,
            actor=actor,
            reason=reason,
        )

    def apply_reason(org):
        org.state_reason = reason
        extra = apply(org) if apply else ()
        return ["state_reason", *extra]

    return run_transition(
        workflow=ORGANIZATION_WORKFLOW,
        queryset=Organization.objects.all(),
        pk=organization_id,
        name=name,
        actor=actor,
        reason=reason,
        apply=apply_reason,
        after=after,
    )


def _require_bureau(actor: User) -> None:
    if not actor.has_perm("accounts.verify_organization"):
        raise PermissionRefused(_("只有科技局业务人员可以审核单位。"))


def verify_organization(*, actor: User, organization_id: int, reason: str = "") -> Organization:
    _require_bureau(actor)

    def stamp(org):
        org.verified_at = timezone.now()
        return ["verified_at"]

    return _org_transition("verify", actor=actor, organization_id=organization_id, reason=reason, apply=stamp)


def return_organization(*, actor: User, organization_id: int, reason: str) -> Organization:
    _require_bureau(actor)
    return _org_transition("return", actor=actor, organization_id=organization_id, reason=reason)


def resubmit_organization(*, actor: User, organization_id: int) -> Organization:
    org = Organization.objects.get(pk=organization_id)
    if not actor.has_perm("accounts.edit_organization", org):
        raise PermissionRefused(_("只有本单位管理员可以重新提交认证。"))
    return _org_transition("resubmit", actor=actor, organization_id=organization_id)


@transaction.atomic
def add_organization_user(
    *,
    actor: User,
    organization_id: int,
    username: str,
    password: str,
    real_name: str,
    email: str,
    phone: str = "",
    is_org_admin: bool = False,
) -> User:
    org = Organization.objects.select_for_update().get(pk=organization_id)
    if not actor.has_perm("accounts.manage_org_users", org):
        raise PermissionRefused(_("只有本单位管理员可以添加用户。"))
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("用户名已被使用。"))
    user = User(username=username, real_name=real_name, email=email, phone=phone, organization=org)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    roles = [Role.APPLICANT, Role.ORG_ADMIN] if is_org_admin else [Role.APPLICANT]
    user.groups.set(_groups(*roles))
    record_audit(
        actor=actor,
        verb="add_user",
        target=org,
        data={"user_id": user.pk, "username": user.username, "org_admin": is_org_admin},
    )
    return user


@transaction.atomic
def set_organization_user_active(*, actor: User, user_id: int, active: bool) -> User:
    user = User.objects.select_for_update(of=("self",)).select_related("organization").get(pk=user_id)
    org = user.organization
    if org is None or not actor.has_perm("accounts.manage_org_users", org):
        raise PermissionRefused(_("只有本单位管理员可以停用或启用本单位用户。"))
    if user.pk == actor.pk and not active:
        raise InvalidInput(_("不能停用自己的账号。"))
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    record_audit(
        actor=actor,
        verb="activate_user" if active else "deactivate_user",
        target=org,
        data={"user_id": user.pk, "username": user.username},
    )
    return user


@transaction.atomic
def record_credit(*, actor: User, data: dict) -> CreditRecord:
    if not actor.has_perm("accounts.record_credit"):
        raise PermissionRefused(_("只有科技局业务人员可以录入失信记录。"))
    record = CreditRecord(recorded_by=actor, **data)
    record.person_id_number = normalize_id_number(record.person_id_number)
    try:
        record.full_clean()
    except ValidationError as e:
        raise InvalidInput(e.messages) from None
    record.save()
    record_audit(
        actor=actor,
        verb="credit_record",
        target=record,
        data={"severity": record.severity, "start": str(record.penalty_start), "end": str(record.penalty_end or "")},
    )
    return record


@transaction.atomic
def revoke_credit(*, actor: User, record_id: int, reason: str) -> CreditRecord:
    if not actor.has_perm("accounts.record_credit"):
        raise PermissionRefused(_("只有科技局业务人员可以撤销失信记录。"))
    if not (reason or "").strip():
        raise InvalidInput(_("撤销失信记录必须填写理由。"))
    record = CreditRecord.objects.select_for_update().get(pk=record_id)
    if record.revoked_at is not None:
        raise InvalidInput(_("该失信记录已撤销。"))
    record.revoked_at = timezone.now()
    record.revoked_by = actor
    record.revoke_reason = reason.strip()
    record.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    record_audit(actor=actor, verb="credit_revoke", target=record, reason=record.revoke_reason)
    return record


# ---- user accounts in the Django admin (系统管理员) ---------------------------------------------------

ADMIN_USER_FIELDS = (
    "username",
    "real_name",
    "email",
    "phone",
    "organization",
    "is_active",
    "is_staff",
    "is_superuser",
    "groups",
    "user_permissions",
)
ADMIN_USER_M2M = ("groups", "user_permissions")
SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")


def _with_content_types(permissions):
    ids = [p.pk for p in permissions]
    return Permission.objects.filter(pk__in=ids).select_related("content_type")


def _admin_user_text(field: str, value) -> str:
    """A value of ADMIN_USER_FIELDS as the audit log records it (names, not ids)."""
    if field == "groups":
        return "、".join(sorted(g.name for g in value))
    if field == "user_permissions":
        return "、".join(sorted(f"{p.content_type.app_label}.{p.codename}" for p in _with_content_types(value)))
    if field == "organization":
        return value.name if value is not None else ""
    return "" if value is None else str(value)


def _admin_user_changes(user: User, data: dict) -> dict[str, tuple]:
    unknown = set(data) - set(ADMIN_USER_FIELDS)
    if unknown:
        raise InvalidInput(_("用户账号没有以下字段：%(f)s。") % {"f": "、".join(sorted(unknown))})
    changes = {}
    for field, new in data.items():
        if field in ADMIN_USER_M2M:
            old = list(getattr(user, field).all()) if user.pk else []
            new = list(new or [])
            if {o.pk for o in old} != {n.pk for n in new}:
                changes[field] = (old, new)
        elif field == "organization":
            old = user.organization
            if (old.pk if old else None) != (new.pk if new else None):
                changes[field] = (old, new)
        else:
            if isinstance(new, str):
                new = new.strip()
            old = getattr(user, field)
            if old != new:
                changes[field] = (old, new)
    return changes


def _check_admin_user_changes(actor: User, user: User, changes: dict) -> None:
    if user.is_superuser and not actor.is_superuser:
        raise PermissionRefused(_("只有超级管理员可以修改超级管理员的账号。"))
    if not actor.is_superuser and any(f in changes for f in SUPERUSER_ONLY_FIELDS):
        raise PermissionRefused(_("只有超级管理员可以授予或取消超级管理员权限和单独授权。"))
    if user.pk == actor.pk:
        if "is_active" in changes and not changes["is_active"][1]:
            raise InvalidInput(_("不能停用自己的账号。"))
        if "is_superuser" in changes and not changes["is_superuser"][1]:
            raise InvalidInput(_("不能取消自己的超级管理员权限。"))


def _save_admin_user(actor: User, user: User, changes: dict, *, verb: str) -> User:
    for field, (_old, new) in changes.items():
        if field not in ADMIN_USER_M2M:
            setattr(user, field, new)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as e:
        raise InvalidInput(e.messages) from None
    if user.pk is None:
        user.save()
    else:
        scalar = [("organization_id" if f == "organization" else f) for f in changes if f not in ADMIN_USER_M2M]
        if scalar:
            user.save(update_fields=scalar)
    for field in ADMIN_USER_M2M:
        if field in changes:
            getattr(user, field).set(changes[field][1])
    record_audit(
        actor=actor,
        verb=verb,
        target=user,
        data={"changed": {f: [_admin_user_text(f, old), _admin_user_text(f, new)] for f, (old, new) in changes.items()}},
    )
    return user


@transaction.atomic
def admin_create_user(*, actor: User, username: str, password: str | None, data: dict) -> User:
    """A system administrator creates an account (Django admin); ``password=None`` = no password login."""
    if not actor.has_perm("accounts.add_user"):
        raise PermissionRefused(_("只有系统管理员可以创建用户账号。"))
    username = (username or "").strip()
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("用户名已被使用。"))
    user = User(username=username)
    changes = _admin_user_changes(user, data)
    _check_admin_user_changes(actor, user, changes)
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, user)
        user.set_password(password)
    changes = {"username": ("", username), **changes}
    return _save_admin_user(actor, user, changes, verb="admin_create_user")


@transaction.atomic
def admin_update_user(*, actor: User, user_id: int, data: dict) -> User:
    """A system administrator changes an account: roles (groups), organisation, active, staff…; audited
    with every changed field (old and new). Refused: deactivating oneself or dropping one's own
    superuser status; granting superuser or single permissions unless a superuser."""
    if not actor.has_perm("accounts.change_user"):
        raise PermissionRefused(_("只有系统管理员可以修改用户账号。"))
    user = User.objects.select_for_update(of=("self",)).get(pk=user_id)
    changes = _admin_user_changes(user, data)
    if not changes:
        return user
    _check_admin_user_changes(actor, user, changes)
    return _save_admin_user(actor, user, changes, verb="admin_update_user")



def record_admin_password_change(*, actor: User, user_id: int) -> None:
    """Audit a password set (or password login disabled) by a system administrator on the admin's
    password page; Django's form wrote it in the same transaction (see accounts.admin.UserAdmin)."""
    user = User.objects.get(pk=user_id)
    if not actor.has_perm("accounts.change_user") or (user.is_superuser and not actor.is_superuser):
        raise PermissionRefused(_("只有超级管理员可以修改超级管理员的账号。"))
    record_audit(actor=actor, verb="admin_set_password", target=user, data={"usable": user.has_usable_password()})
