"""REST API for calls and applications: serializers and viewsets.

Every queryset comes from ``projects.selectors`` (scoped to the requesting user: another
organisation's application is a 404); every write calls the same ``projects.services`` function as
the portal, and a refusal comes back as 400/409 with the reason (see accounts.exceptions).
Money is in 元, as decimal strings with two places.
"""

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.models import Organization

from . import selectors, services
from .checklists import FORMAL_REVIEW_CHECKLIST
from .filters import MAX_ID, ApplicationFilter, CallFilter
from .models import (
    Application,
    Attachment,
    AttachmentKind,
    BudgetLine,
    Call,
    CallDocument,
    FormalReview,
    Partner,
    PerformanceTarget,
    Program,
    TeamMember,
)


def money_field(**kwargs) -> serializers.DecimalField:
    """A read-only amount in 元: a decimal string with two places, e.g. "500000.00"."""
    return serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True, read_only=True, **kwargs)


MONEY_SCHEMA = serializers.DecimalField(max_digits=16, decimal_places=2, coerce_to_string=True, read_only=True)


def request_user(serializer):
    """The user of the request a serializer works for (None outside a request)."""
    request = serializer.context.get("request")
    return getattr(request, "user", None)


def pk_of(view) -> int:
    """The id in the URL, as an int within the range ids take; 404 otherwise (never a 500 for ``/99999999999/``)."""
    try:
        pk = int(view.kwargs[view.lookup_field])
    except (TypeError, ValueError):
        raise Http404 from None
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return pk


class ScopedViewSet(viewsets.GenericViewSet):
    """A viewset whose rows come from a selector scoped to the user: validated input, paged lists of detail actions,
    and the idempotency key from the body or the ``Idempotency-Key`` header."""

    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"[0-9]+"

    def _input(self, serializer_class, **kwargs) -> dict:
        serializer = serializer_class(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _page(self, rows, serializer_class) -> Response:
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            serializer_class(page, many=True, context=self.get_serializer_context()).data)

    def _idempotency_key(self, data) -> str:
        return (data.get("idempotency_key") or "").strip() or self.request.headers.get("Idempotency-Key", "")


class RowViewSet(ScopedViewSet):
    """A ScopedViewSet whose actions answer with the row they worked on: ``row(pk)`` finds it among the rows the user
    may see (Http404 otherwise) and ``detail_serializer`` renders it; ``action_serializers`` names the serializer
    of any other action (list, input), by action."""

    detail_serializer: type[serializers.BaseSerializer]
    action_serializers: dict[str, type[serializers.BaseSerializer]] = {}

    def row(self, pk: int):
        raise NotImplementedError

    def get_serializer_class(self):
        return self.action_serializers.get(self.action, self.detail_serializer)

    def get_object(self):
        return self.row(pk_of(self))

    def _respond(self, pk, status_code=status.HTTP_200_OK) -> Response:
        return Response(self.detail_serializer(self.row(pk), context=self.get_serializer_context()).data,
                        status=status_code)


_ENUM_FIELDS: dict[str, type] = {}


def enum_field(component_name: str, enum, **kwargs):
    """A read-only code, documented as its own enum component (several models have a "state"); one field class
    per component, however many serializers use it. Shared by every app's API."""
    field_class = _ENUM_FIELDS.get(component_name)
    if field_class is None:
        schema = {
            "type": "string",
            "enum": list(enum.values),
            "description": "；".join(f"{value} {label}" for value, label in enum.choices),
        }
        field_class = _ENUM_FIELDS[component_name] = extend_schema_field(schema, component_name=component_name)(
            type(component_name + "Field", (serializers.ChoiceField,), {})
        )
    return field_class(choices=enum.choices, read_only=True, **kwargs)


def paged_schema(serializer_class, name: str):
    """The schema of a page of ``serializer_class`` rows (the detail actions that return a paginated list)."""
    return type(name, (serializers.Serializer,), {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    })


def _belongs_to_owner(serializer, organization_id) -> bool:
    request = serializer.context.get("request")
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.organization_id and user.organization_id == organization_id)


# ---- shared pieces ------------------------------------------------------------------------------


class ChoiceSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("代码"))
    label = serializers.CharField(help_text=_("名称"))


def _choices(values, enum) -> list[dict]:
    return [{"code": v, "label": str(enum(v).label)} for v in values if v in enum.values]


class ErrorSerializer(serializers.Serializer):
    """请求被拒绝时的返回内容：400 输入不符合要求，403 无权操作，409 当前状态不允许。"""

    detail = serializers.CharField(help_text=_("全部原因，以“；”连接"))
    code = serializers.CharField(help_text=_("错误类别，如 submit_checks、transition_refused"))
    errors = serializers.ListField(child=serializers.CharField(), help_text=_("逐条原因"))


ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description=_("输入不符合要求（如提交前检查未通过），逐条列出原因")),
    403: OpenApiResponse(ErrorSerializer, description=_("无权执行该操作")),
    404: OpenApiResponse(description=_("申报书不存在或无权查看")),
    409: OpenApiResponse(ErrorSerializer, description=_("当前状态不允许该操作")),
}


def error_responses(not_found) -> dict:
    """The documented refusals of an endpoint: 400/403/409 with their reasons, 404 in the endpoint's words."""
    return {
        400: OpenApiResponse(ErrorSerializer, description=_("输入不符合要求，逐条列出原因")),
        403: OpenApiResponse(ErrorSerializer, description=_("无权执行该操作")),
        404: OpenApiResponse(description=not_found),
        409: OpenApiResponse(ErrorSerializer, description=_("当前状态不允许该操作")),
    }


def action_schema(serializer, errors: dict, *, request=None):
    """The ``extend_schema`` of a viewset's actions, made once per viewset: each action answers with ``serializer``
    (200) or one of ``errors`` unless it names its own ``responses``; ``request`` is the body the actions take unless
    one names another. Call the result with the action's summary and description."""

    def schema(summary, description, request=request, responses=None, parameters=None):
        return extend_schema(summary=summary, description=description, request=request, parameters=parameters,
                             responses=responses or {200: serializer, **errors})

    return schema


# ---- calls --------------------------------------------------------------------------------------


class ProgramBriefSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Program
        fields = ["code", "name", "kind", "kind_display", "managing_office"]


class CallDocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = CallDocument
        fields = ["id", "title", "original_name", "content_type", "size", "download_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, obj) -> str:
        url = reverse("public:call_document", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class CallSerializer(serializers.ModelSerializer):
    program = ProgramBriefSerializer(read_only=True)
    state = enum_field("CallState", Call.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    is_open = serializers.SerializerMethodField(help_text=_("当前是否在申报期内（以服务器时间为准）"))
    total_budget = money_field(help_text=_("财政资金总额（元）"))
    cap_per_project = money_field(help_text=_("单项财政资金上限（元）"))
    min_self_funding_ratio = serializers.DecimalField(
        max_digits=5, decimal_places=4, read_only=True, help_text=_("自筹资金占总经费的最低比例，0.5000 表示 50%")
    )
    eligible_org_kinds = serializers.SerializerMethodField(help_text=_("可申报单位性质；为空表示不限"))
    required_qualifications = serializers.SerializerMethodField(help_text=_("须具备的资质"))
    required_attachment_kinds = serializers.SerializerMethodField(help_text=_("必传附件类型"))
    documents = CallDocumentSerializer(many=True, read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "program",
            "year",
            "title",
            "guide",
            "state",
            "state_display",
            "is_open",
            "opens_at",
            "closes_at",
            "published_at",
            "total_budget",
            "cap_per_project",
            "min_self_funding_ratio",
            "max_applications_per_org",
            "eligible_org_kinds",
            "required_qualifications",
            "required_attachment_kinds",
            "documents",
        ]
        read_only_fields = fields

    def get_is_open(self, obj) -> bool:
        return obj.is_open()

    @extend_schema_field(ChoiceSerializer(many=True))
    def get_eligible_org_kinds(self, obj):
        return _choices(obj.eligible_org_kinds, Organization.Kind)

    @extend_schema_field(ChoiceSerializer(many=True))
    def get_required_qualifications(self, obj):
        return _choices(obj.required_qualifications, Organization.Qualification)

    @extend_schema_field(ChoiceSerializer(many=True))
    def get_required_attachment_kinds(self, obj):
        return _choices(obj.required_attachment_kinds, AttachmentKind)


@extend_schema_view(
    list=extend_schema(summary=_("申报指南列表"), description=_("公开：任何人可查看已发布和已截止的指南。")),
    retrieve=extend_schema(summary=_("申报指南详情"), description=_("草稿状态的指南仅科技局业务人员可见。")),
)
class CallViewSet(viewsets.ReadOnlyModelViewSet):
    # 申报指南: public read.

    permission_classes = [AllowAny]
    serializer_class = CallSerializer
    filterset_class = CallFilter
    search_fields = ["title"]
    ordering_fields = ["opens_at", "closes_at", "year", "id"]
    ordering = ["-opens_at", "-id"]

    def get_queryset(self):
        return selectors.calls_visible_to(self.request.user).prefetch_related("documents")


# ---- applications: read -------------------------------------------------------------------------


class CallBriefSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="program.code", read_only=True)
    program_name = serializers.CharField(source="program.name", read_only=True)

    class Meta:
        model = Call
        fields = ["id", "year", "title", "program", "program_name", "closes_at"]


class OrganizationBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "credit_code"]


class ApplicationListSerializer(serializers.ModelSerializer):
    state = enum_field("ApplicationState", Application.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    call = CallBriefSerializer(read_only=True)
    organization = OrganizationBriefSerializer(read_only=True)
    fiscal_total = money_field(help_text=_("申请财政资金合计（元）"))
    self_total = money_field(help_text=_("自筹资金合计（元）"))
    total = serializers.SerializerMethodField(help_text=_("项目总经费（元）"))

    class Meta:
        model = Application
        fields = [
            "id",
            "number",
            "title",
            "state",
            "state_display",
            "call",
            "organization",
            "leader_name",
            "fiscal_total",
            "self_total",
            "total",
            "revision",
            "submitted_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(MONEY_SCHEMA)
    def get_total(self, obj):
        return f"{obj.fiscal_total + obj.self_total:.2f}"


class TeamMemberSerializer(serializers.ModelSerializer):
    id_number = serializers.SerializerMethodField(help_text=_("证件号码；非本单位用户看到的是脱敏后的号码"))

    class Meta:
        model = TeamMember
        fields = ["name", "id_number", "title", "organization_name", "role", "work_months"]

    def get_id_number(self, obj) -> str:
        if _belongs_to_owner(self, self.context.get("organization_id")):
            return obj.id_number
        return obj.masked_id_number


class BudgetLineSerializer(serializers.ModelSerializer):
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    fiscal_amount = money_field(help_text=_("财政资金（元）"))
    self_amount = money_field(help_text=_("自筹资金（元）"))
    total = money_field(help_text=_("小计（元）"))

    class Meta:
        model = BudgetLine
        fields = ["category", "category_display", "fiscal_amount", "self_amount", "total", "note"]


class PerformanceTargetSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = PerformanceTarget
        fields = ["kind", "kind_display", "indicator", "target_value", "unit"]


class PartnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Partner
        fields = ["name", "credit_code", "role", "organization"]


class AttachmentSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "kind", "kind_display", "original_name", "content_type", "size", "sha256", "uploaded_at",
                  "download_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, obj) -> str:
        url = reverse("portal:attachment_download", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class FormalReviewSerializer(serializers.ModelSerializer):
    decision_display = serializers.CharField(source="get_decision_display", read_only=True)
    checklist = serializers.DictField(child=serializers.BooleanField(), help_text=_("审查要点 → 是否通过"))

    class Meta:
        model = FormalReview
        fields = ["decision", "decision_display", "revision", "comment", "checklist", "created_at"]


# (transition, permission, whether the permission is checked against the object)
_ACTIONS = [
    ("submit", "projects.submit_application_obj", True),
    ("withdraw", "projects.withdraw_application_obj", True),
    ("endorse", "projects.endorse_application_obj", True),
    ("org_return", "projects.endorse_application_obj", True),
    ("accept", "projects.formal_review", False),
    ("return", "projects.formal_review", False),
    ("reject", "projects.formal_review", False),
]


class ApplicationDetailSerializer(ApplicationListSerializer):
    leader_id_number = serializers.SerializerMethodField(
        help_text=_("项目负责人证件号码；非本单位用户看到的是脱敏后的号码")
    )
    keyword_list = serializers.ListField(child=serializers.CharField(), read_only=True)
    team = serializers.SerializerMethodField()
    budget_lines = BudgetLineSerializer(many=True, read_only=True)
    targets = PerformanceTargetSerializer(many=True, read_only=True)
    partners = PartnerSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(source="active_attachments", many=True, read_only=True)
    formal_reviews = FormalReviewSerializer(many=True, read_only=True)
    available_actions = serializers.SerializerMethodField(
        help_text=_("当前用户此刻可执行的操作：submit、withdraw、endorse、org_return、accept、return、reject")
    )

    class Meta(ApplicationListSerializer.Meta):
        fields = [
            *ApplicationListSerializer.Meta.fields,
            "summary",
            "keywords",
            "keyword_list",
            "discipline_code",
            "start_date",
            "end_date",
            "leader_title",
            "leader_phone",
            "leader_email",
            "leader_id_number",
            "last_reason",
            "decided_at",
            "created_at",
            "team",
            "budget_lines",
            "targets",
            "partners",
            "attachments",
            "formal_reviews",
            "available_actions",
        ]
        read_only_fields = fields

    def get_leader_id_number(self, obj) -> str:
        if _belongs_to_owner(self, obj.organization_id):
            return obj.leader_id_number
        return obj.masked_leader_id

    @extend_schema_field(TeamMemberSerializer(many=True))
    def get_team(self, obj):
        context = {**self.context, "organization_id": obj.organization_id}
        return TeamMemberSerializer(obj.team_members.all(), many=True, context=context).data

    def get_available_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        allowed = {t.name for t in services.APPLICATION_WORKFLOW.available(obj.state)}
        return [
            name
            for name, perm, on_object in _ACTIONS
            if name in allowed and (user.has_perm(perm, obj) if on_object else user.has_perm(perm))
        ]


# ---- applications: write ------------------------------------------------------------------------


class ApplicationCreateSerializer(serializers.Serializer):
    call = serializers.PrimaryKeyRelatedField(queryset=selectors.public_calls(), help_text=_("申报指南 ID"))
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=_("项目名称"))


class ApplicationUpdateSerializer(serializers.ModelSerializer):
    """申报书基本信息（仅草稿、单位退回、退回修改状态可改）。"""

    class Meta:
        model = Application
        fields = list(services.BASIC_FIELDS)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text=_("理由或意见"))


class ChecklistSerializer(serializers.Serializer):
    """形式审查要点：通过的要点填 true；受理须全部要点通过。"""

    def get_fields(self):
        return {
            code: serializers.BooleanField(required=False, default=False, help_text=label)
            for code, label in FORMAL_REVIEW_CHECKLIST
        }


class FormalReviewInputSerializer(ReasonSerializer):
    decision = serializers.ChoiceField(
        choices=FormalReview.Decision.choices, help_text=_("accept 受理；return 退回修改；reject 不予受理")
    )
    checklist = ChecklistSerializer(required=False)


def _action_schema(summary, description, request=None):
    return extend_schema(
        summary=summary,
        description=description,
        request=request,
        responses={200: ApplicationDetailSerializer, **ERROR_RESPONSES},
    )


@extend_schema_view(
    list=extend_schema(
        summary=_("申报书列表"),
        description=_(
            "本单位用户看到本单位的全部申报书；科技局业务人员看到已提交的申报书（不含其他单位的草稿）；"
            "专家、财务等其他用户看不到申报书。"
        ),
    ),
    retrieve=extend_schema(
        summary=_("申报书详情"),
        description=_("含项目组成员、预算、绩效指标、合作单位、附件和形式审查记录；非本单位用户看到的证件号码已脱敏。"),
        responses={200: ApplicationDetailSerializer, 404: ERROR_RESPONSES[404]},
    ),
    create=extend_schema(
        summary=_("新建申报书草稿"),
        description=_("本单位申报用户在指南申报期内新建草稿。"),
        request=ApplicationCreateSerializer,
        responses={201: ApplicationDetailSerializer, 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403]},
    ),
    partial_update=extend_schema(
        summary=_("修改申报书基本信息"),
        description=_("仅在草稿、单位退回、退回修改状态下可修改。"),
        request=ApplicationUpdateSerializer,
        responses={200: ApplicationDetailSerializer, **ERROR_RESPONSES},
    ),
)
class ApplicationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    # 申报书, scoped to the user by selectors.applications_visible_to.

    permission_classes = [IsAuthenticated]
    filterset_class = ApplicationFilter
    search_fields = ["title", "number"]
    ordering_fields = ["submitted_at", "updated_at", "created_at", "number", "title", "fiscal_total", "self_total"]
    ordering = ["-updated_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.application_list(self.request.user)

    def get_serializer_class(self):
        return {
            "list": ApplicationListSerializer,
            "create": ApplicationCreateSerializer,
            "partial_update": ApplicationUpdateSerializer,
            "withdraw": ReasonSerializer,
            "endorse": ReasonSerializer,
            "org_return": ReasonSerializer,
            "formal_review": FormalReviewInputSerializer,
        }.get(self.action, ApplicationDetailSerializer)

    # -- lookups through the selectors: invisible (another organisation's, a draft of others…) is 404

    def _pk(self) -> int:
        try:
            return int(self.kwargs[self.lookup_field])
        except (TypeError, ValueError):
            raise Http404 from None

    def _detail(self, pk: int) -> Application:
        try:
            return selectors.application_detail(self.request.user, pk)
        except Application.DoesNotExist:
            raise Http404 from None

    def _visible_pk(self) -> int:
        pk = self._pk()
        if not selectors.applications_visible_to(self.request.user).filter(pk=pk).exists():
            raise Http404
        return pk

    def get_object(self):
        app = self._detail(self._pk())
        self.check_object_permissions(self.request, app)
        return app

    def _respond(self, pk, status_code=status.HTTP_200_OK) -> Response:
        app = self._detail(pk)
        return Response(ApplicationDetailSerializer(app, context=self.get_serializer_context()).data, status=status_code)

    def _input(self, request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    # -- writes: each one calls the service that the portal calls

    def create(self, request, *args, **kwargs):
        data = self._input(request)
        app = services.create_application(actor=request.user, call_id=data["call"].pk, title=data.get("title", ""))
        return self._respond(app.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        pk = self._visible_pk()
        serializer = ApplicationUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.update_application(actor=request.user, application_id=pk, data=dict(serializer.validated_data))
        return self._respond(pk)

    @_action_schema(_("提交申报书"), _("提交前逐项检查；未通过时返回 400，errors 中逐条列出原因。"))
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        pk = self._visible_pk()
        services.submit_application(actor=request.user, application_id=pk)
        return self._respond(pk)

    @_action_schema(_("撤回申报书"), _("受理前，本单位申报用户可撤回。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        pk = self._visible_pk()
        data = self._input(request)
        services.withdraw_application(actor=request.user, application_id=pk, reason=data.get("reason", ""))
        return self._respond(pk)

    @_action_schema(_("单位审核通过"), _("本单位管理员审核通过，报送科技局形式审查。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def endorse(self, request, pk=None):
        pk = self._visible_pk()
        data = self._input(request)
        services.endorse_application(actor=request.user, application_id=pk, reason=data.get("reason", ""))
        return self._respond(pk)

    @_action_schema(_("单位退回"), _("本单位管理员退回申报书，必须填写理由。"), ReasonSerializer)
    @action(detail=True, methods=["post"], url_path="org-return")
    def org_return(self, request, pk=None):
        pk = self._visible_pk()
        data = self._input(request)
        services.org_return_application(actor=request.user, application_id=pk, reason=data.get("reason", ""))
        return self._respond(pk)

    @_action_schema(
        _("形式审查"),
        _("科技局业务人员受理、退回修改或不予受理；受理须全部审查要点通过，退回和不予受理须填写理由。"),
        FormalReviewInputSerializer,
    )
    @action(detail=True, methods=["post"], url_path="formal-review")
    def formal_review(self, request, pk=None):
        pk = self._visible_pk()
        data = self._input(request)
        services.formal_review(
            actor=request.user,
            application_id=pk,
            decision=data["decision"],
            reason=data.get("reason", ""),
            checklist=dict(data.get("checklist") or {}),
        )
        return self._respond(pk)
