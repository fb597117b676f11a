"""REST API for 揭榜挂帅: the public 榜单, the poster's needs, the bidders' plans, the bureau's desk and the
winners' projects.

Every queryset comes from ``projects.challenges.selectors`` (scoped: another organisation's need, bid or
project is a 404, and a user who may see nothing gets an empty list); every write calls the same
``projects.challenges.services`` function as the portal, and a refusal comes back as 400/403/409 with the reason
(accounts.exceptions.api_exception_handler). Money is in 元, as decimal strings with two places; ID numbers are
shown in full to their own organisation only.
"""

import django_filters
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.models import Organization
from projects.api import (
    OrganizationBriefSerializer,
    ReasonSerializer,
    ScopedViewSet,
    action_schema,
    enum_field,
    error_responses,
    money_field,
    paged_schema,
    pk_of,
    request_user,
)
from projects.filters import MAX_ID

from ..models import Project
from . import selectors, services
from .models import (
    MAX_WINNERS,
    Bid,
    BidMember,
    BidMilestone,
    BidPartner,
    Challenge,
    ChallengeAcceptance,
    ChallengeField,
    ChallengeQuestion,
    ChallengeTarget,
    ProjectMilestone,
)

CH = Challenge.State







PUBLIC_ERRORS = error_responses(_("榜单不存在或尚未发布"))
NEED_ERRORS = error_responses(_("需求不存在或不是本单位发布的"))
BID_ERRORS = error_responses(_("揭榜方案不存在或不是本单位的"))
OFFICE_ERRORS = error_responses(_("需求不存在、尚未提交，或无权查看"))
PROJECT_ERRORS = error_responses(_("项目不存在或无权查看"))
NEED_QUESTION_ERRORS = error_responses(_("需求或问题不存在，或不是本单位发布的"))




def _own_org(serializer, organization_id) -> bool:
    user = request_user(serializer)
    return bool(user and user.is_authenticated and user.organization_id
                and user.organization_id == organization_id)


def input_money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=15, decimal_places=2, min_value=0, **kwargs)


def _id_field(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# ---- filters: they narrow a selector's queryset, never widen it -----------------------------------------


def _search(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    return queryset.filter(Q(title__icontains=value) | Q(keywords__icontains=value) | Q(number__icontains=value)
                           | Q(organization__name__icontains=value))


class PublicChallengeFilter(django_filters.FilterSet):
    field = django_filters.ChoiceFilter(field_name="field", choices=ChallengeField.choices, label=_("技术领域"))
    state = django_filters.ChoiceFilter(
        field_name="state", choices=[(s.value, s.label) for s in Challenge.PUBLIC_STATES], label=_("状态"))
    q = django_filters.CharFilter(method=_search, label=_("名称、编号、关键词或发榜单位"))

    class Meta:
        model = Challenge
        fields = ["field", "state", "q"]


class ChallengeFilter(PublicChallengeFilter):
    state = django_filters.ChoiceFilter(field_name="state", choices=CH.choices, label=_("状态"))


class BidFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=Bid.State.choices, label=_("状态"))

    class Meta:
        model = Bid
        fields = ["state"]


class ProjectFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=Project.State.choices, label=_("状态"))

    class Meta:
        model = Project
        fields = ["state"]


# ---- the 榜单 (public) -------------------------------------------------------------------------------------


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChallengeTarget
        fields = ["id", "position", "name", "target_value", "unit", "verification"]
        read_only_fields = fields


class PublicQuestionSerializer(serializers.ModelSerializer):
    """An answered 答疑, without who asked."""

    class Meta:
        model = ChallengeQuestion
        fields = ["id", "question", "answer", "answered_at"]
        read_only_fields = fields


class QuestionSerializer(serializers.ModelSerializer):
    """A 答疑 as the poster or the asking organisation sees it: every state, without who asked."""

    state = enum_field("QuestionState", ChallengeQuestion.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = ChallengeQuestion
        fields = ["id", "question", "state", "state_display", "answer", "asked_at", "answered_at"]
        read_only_fields = fields


class ChallengeListSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True, help_text=_("发榜单位"))
    program_name = serializers.CharField(source="program.name", read_only=True, default=None, allow_null=True,
                                         help_text=_("计划类别"))
    field = enum_field("ChallengeFieldCode", ChallengeField)
    field_display = serializers.CharField(source="get_field_display", read_only=True)
    state = enum_field("ChallengeState", CH)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    enterprise_funding = money_field(help_text=_("企业出资（元）"))
    subsidy_requested = money_field(help_text=_("申请政府补助（元）"))
    bounty = money_field(help_text=_("悬赏金额（元）"))
    is_race = serializers.BooleanField(read_only=True, help_text=_("赛马制（入选团队数大于1）"))
    has_defence = serializers.BooleanField(read_only=True, help_text=_("是否组织答辩"))
    accepts_bids = serializers.SerializerMethodField(help_text=_("此刻是否在揭榜期内（以服务器时间为准）"))

    class Meta:
        model = Challenge
        fields = ["id", "number", "title", "organization_name", "program_name", "field", "field_display",
                  "keywords", "period_months", "enterprise_funding", "subsidy_requested", "bounty", "max_winners",
                  "is_race", "has_defence", "state", "state_display", "bid_round", "bid_deadline", "published_at",
                  "accepts_bids"]
        read_only_fields = fields

    def get_accepts_bids(self, obj) -> bool:
        return obj.accepts_bids_at(timezone.now())


class ChallengeDetailSerializer(ChallengeListSerializer):
    targets = TargetSerializer(many=True, read_only=True)
    questions = serializers.SerializerMethodField(help_text=_("已公开的答疑（不含提问单位）"))

    class Meta(ChallengeListSerializer.Meta):
        fields = [*ChallengeListSerializer.Meta.fields, "discipline_code", "problem", "expected_outcome",
                  "defence_weight", "targets", "questions"]
        read_only_fields = fields

    @extend_schema_field(PublicQuestionSerializer(many=True))
    def get_questions(self, obj):
        return PublicQuestionSerializer(selectors.public_questions(obj), many=True).data


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=2000, allow_blank=True, help_text=_("问题（不超过2000字）"))


@extend_schema_view(
    list=extend_schema(summary=_("揭榜挂帅榜单"), description=_("公开：揭榜中及之后的榜单（不含需求草稿和论证中的需求）。")),
    retrieve=extend_schema(summary=_("榜单详情"), description=_("含技术指标和已公开的答疑（不含提问单位）。"),
                           responses={200: ChallengeDetailSerializer, 404: PUBLIC_ERRORS[404]}),
)
class ChallengeViewSet(viewsets.ReadOnlyModelViewSet):
    # 榜单: public read (selectors.public_challenges).

    permission_classes = [AllowAny]
    filterset_class = PublicChallengeFilter
    search_fields = []
    ordering_fields = ["published_at", "bid_deadline", "bounty"]
    ordering = ["-published_at", "-id"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.public_challenges()

    def get_serializer_class(self):
        return ChallengeListSerializer if self.action == "list" else ChallengeDetailSerializer

    def get_object(self):
        return selectors.public_challenge(pk_of(self))

    @extend_schema(summary=_("提问（答疑）"),
                   description=_("揭榜期内，单位用户对其他单位的榜单提问；返回本单位看到的问题。答复后公开显示在榜单上，"
                                 "不显示提问单位。发榜单位不能对自己的榜单提问（403），揭榜期外返回 409。"),
                   request=AskSerializer, responses={201: QuestionSerializer, **PUBLIC_ERRORS})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def ask(self, request, pk=None):
        challenge = self.get_object()
        serializer = AskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        question = services.ask_question(actor=request.user, challenge_id=challenge.pk,
                                         question=serializer.validated_data["question"])
        return Response(QuestionSerializer(question).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=_("本单位的提问"),
                   description=_("本单位对该榜单提出的全部问题（含待答复和不予公开的）；非单位用户为空列表。"),
                   filters=False,
                   responses={200: paged_schema(QuestionSerializer, "PaginatedMyQuestionList"), 404: PUBLIC_ERRORS[404]})
    @action(detail=True, methods=["get"], url_path="my-questions", permission_classes=[IsAuthenticated],
            filter_backends=[])
    def my_questions(self, request, pk=None):
        challenge = self.get_object()
        user = request.user
        rows = (selectors.questions_for(user, challenge).filter(organization_id=user.organization_id)
                if selectors.is_org_user(user) else ChallengeQuestion.objects.none())
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(QuestionSerializer(page, many=True).data)


# ---- shared: bids -------------------------------------------------------------------------------------------


class ChallengeBriefSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True, help_text=_("发榜单位"))
    state = enum_field("ChallengeState", CH)
    bounty = money_field(help_text=_("悬赏金额（元）"))

    class Meta:
        model = Challenge
        fields = ["id", "number", "title", "organization_name", "state", "bounty", "bid_round", "bid_deadline"]
        read_only_fields = fields


class BidPartnerSerializer(serializers.ModelSerializer):
    kind = enum_field("OrganizationKindCode", Organization.Kind)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = BidPartner
        fields = ["position", "name", "credit_code", "kind", "kind_display", "role"]
        read_only_fields = fields


class BidMemberSerializer(serializers.ModelSerializer):
    id_number = serializers.SerializerMethodField(help_text=_("证件号码；非本单位用户看到的是脱敏后的号码"))

    class Meta:
        model = BidMember
        fields = ["position", "name", "id_number", "organization_name", "title", "role"]
        read_only_fields = fields

    def get_id_number(self, obj) -> str:
        return obj.id_number if self.context.get("owner") else obj.masked_id_number


class BidMilestoneSerializer(serializers.ModelSerializer):
    amount = money_field(help_text=_("对应金额（元）"))

    class Meta:
        model = BidMilestone
        fields = ["position", "title", "targets", "due_date", "amount"]
        read_only_fields = fields


class BidListSerializer(serializers.ModelSerializer):
    state = enum_field("BidState", Bid.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    challenge = ChallengeBriefSerializer(read_only=True)
    organization = OrganizationBriefSerializer(read_only=True)
    amount = money_field(help_text=_("揭榜金额（元）"))

    class Meta:
        model = Bid
        fields = ["id", "number", "title", "state", "state_display", "challenge", "bid_round", "organization",
                  "leader_name", "amount", "submitted_at", "decided_at", "review_score", "defence_score",
                  "total_score", "updated_at"]
        read_only_fields = fields


_BID_ACTIONS = {"submit": "submit", "withdraw": "withdraw"}


class BidDetailSerializer(BidListSerializer):
    leader_id_number = serializers.SerializerMethodField(help_text=_("负责人证件号码；非本单位用户看到的是脱敏后的号码"))
    partners = BidPartnerSerializer(many=True, read_only=True)
    members = serializers.SerializerMethodField()
    milestones = BidMilestoneSerializer(many=True, read_only=True)
    fiscal_share = serializers.SerializerMethodField(help_text=_("按榜单政府补助比例计算的财政资金（元）"))
    available_actions = serializers.SerializerMethodField(help_text=_("当前用户此刻可执行的操作：submit、withdraw"))
    problems = serializers.SerializerMethodField(help_text=_("草稿提交前尚未满足的条件；非草稿或非本单位为空"))

    class Meta(BidListSerializer.Meta):
        fields = [*BidListSerializer.Meta.fields, "plan", "foundation", "discipline_code", "keywords",
                  "leader_id_number", "leader_title", "leader_phone", "commitment_accepted_at", "review_count",
                  "last_reason", "created_at", "fiscal_share", "partners", "members", "milestones",
                  "available_actions", "problems"]
        read_only_fields = fields

    def get_leader_id_number(self, obj) -> str:
        return obj.leader_id_number if _own_org(self, obj.organization_id) else obj.masked_leader_id_number

    @extend_schema_field(BidMemberSerializer(many=True))
    def get_members(self, obj):
        context = {**self.context, "owner": _own_org(self, obj.organization_id)}
        return BidMemberSerializer(obj.members.all(), many=True, context=context).data

    @extend_schema_field(money_field())
    def get_fiscal_share(self, obj):
        return f"{services.fiscal_share(obj.amount, obj.challenge):.2f}"

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if not (user and user.is_authenticated and user.has_perm("projects.edit_bid_obj", obj)):
            return []
        return [t.name for t in services.BID_WORKFLOW.available(obj.state) if t.name in _BID_ACTIONS]

    def get_problems(self, obj) -> list[str]:
        if obj.state != Bid.State.DRAFT or not _own_org(self, obj.organization_id):
            return []
        return services.bid_problems(obj)


# ---- shared: questions --------------------------------------------------------------------------------------


class OfficeQuestionSerializer(QuestionSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True, default=None,
                                              allow_null=True, help_text=_("提问单位"))
    asked_by = serializers.CharField(source="asked_by.display_name", read_only=True, help_text=_("提问人"))
    answered_by = serializers.CharField(source="answered_by.display_name", read_only=True, default=None,
                                        allow_null=True, help_text=_("答复人"))

    class Meta(QuestionSerializer.Meta):
        fields = [*QuestionSerializer.Meta.fields, "organization_name", "asked_by", "answered_by"]
        read_only_fields = fields


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=5000, allow_blank=True, help_text=_("答复（公开）"))


# ---- the poster's needs ------------------------------------------------------------------------------------

_NEED_ACTIONS = {
    "submit": "projects.edit_challenge_obj",
    "withdraw": "projects.edit_challenge_obj",
    "award": "projects.decide_challenge_obj",
    "fail": "projects.decide_challenge_obj",
}


class NeedSerializer(ChallengeListSerializer):
    targets = TargetSerializer(many=True, read_only=True)
    questions = serializers.SerializerMethodField(help_text=_("本榜单的全部答疑（不含提问单位）"))
    available_actions = serializers.SerializerMethodField(
        help_text=_("当前用户此刻可执行的操作：submit、withdraw、award、fail"))
    problems = serializers.SerializerMethodField(help_text=_("草稿提交前尚未满足的条件；非草稿为空"))

    class Meta(ChallengeListSerializer.Meta):
        fields = [*ChallengeListSerializer.Meta.fields, "discipline_code", "problem", "expected_outcome",
                  "defence_weight", "contact_name", "contact_phone", "commitment_accepted_at", "submitted_at",
                  "closed_at", "decided_at", "vetting_opinion", "last_reason", "created_at", "updated_at", "targets",
                  "questions", "available_actions", "problems"]
        read_only_fields = fields

    @extend_schema_field(QuestionSerializer(many=True))
    def get_questions(self, obj):
        if obj.state not in Challenge.PUBLIC_STATES:
            return []
        return QuestionSerializer(selectors.questions_for(request_user(self), obj), many=True).data

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if not (user and user.is_authenticated):
            return []
        return [t.name for t in services.CHALLENGE_WORKFLOW.available(obj.state)
                if t.name in _NEED_ACTIONS and user.has_perm(_NEED_ACTIONS[t.name], obj)
                and (t.name != "fail" or obj.state == CH.REVIEWING)]

    def get_problems(self, obj) -> list[str]:
        return services.challenge_problems(obj) if obj.state == CH.DRAFT else []


class NeedInputSerializer(serializers.Serializer):
    """需求的基本信息（仅草稿可改）。悬赏金额 = 企业出资 + 申请政府补助。"""

    title = serializers.CharField(max_length=200, help_text=_("需求名称"))
    field = serializers.ChoiceField(choices=ChallengeField.choices, required=False, help_text=_("技术领域"))
    discipline_code = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                            help_text=_("学科代码"))
    keywords = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text=_("关键词"))
    problem = serializers.CharField(max_length=20000, required=False, allow_blank=True, help_text=_("技术难题描述"))
    expected_outcome = serializers.CharField(max_length=20000, required=False, allow_blank=True,
                                             help_text=_("预期成果"))
    period_months = serializers.IntegerField(min_value=1, max_value=60, required=False,
                                             help_text=_("预期攻关周期（月）"))
    enterprise_funding = input_money(required=False, help_text=_("企业出资（元）"))
    subsidy_requested = input_money(required=False, help_text=_("申请政府补助（元）"))
    max_winners = serializers.IntegerField(min_value=1, max_value=MAX_WINNERS, required=False,
                                           help_text=_("入选团队数；大于1为赛马制"))
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text=_("联系人"))
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, help_text=_("联系电话"))


class TargetInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, help_text=_("指标名称"))
    target_value = serializers.CharField(max_length=100, allow_blank=True, help_text=_("目标值"))
    unit = serializers.CharField(max_length=30, required=False, allow_blank=True, help_text=_("单位"))
    verification = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text=_("验证方式"))


class TargetsInputSerializer(serializers.Serializer):
    targets = TargetInputSerializer(many=True, help_text=_("全部技术指标（整体替换）"))


class CommitmentSerializer(serializers.Serializer):
    accept_commitment = serializers.BooleanField(required=False, default=False,
                                                 help_text=_("已阅读并同意承诺（必须为 true）"))


class AwardSerializer(serializers.Serializer):
    bid_ids = serializers.ListField(child=_id_field(), max_length=MAX_WINNERS * 4,
                                    help_text=_("入选方案 ID；单一揭榜选1个，赛马制最多选入选团队数个"))
    opinion = serializers.CharField(required=False, allow_blank=True, max_length=2000, help_text=_("发榜方意见"))


_need_action = action_schema(NeedSerializer, NEED_ERRORS)


@extend_schema_view(
    list=extend_schema(summary=_("本单位发布的揭榜需求"), description=_("本单位的全部需求（含草稿）；非单位用户为空列表。")),
    retrieve=extend_schema(summary=_("需求详情"), responses={200: NeedSerializer, 404: NEED_ERRORS[404]}),
    create=extend_schema(summary=_("新建需求草稿"), request=NeedInputSerializer,
                         responses={201: NeedSerializer, 400: NEED_ERRORS[400], 403: NEED_ERRORS[403]}),
    partial_update=extend_schema(summary=_("修改需求"), description=_("仅草稿可修改；已提交的需求返回 409。"),
                                 request=NeedInputSerializer, responses={200: NeedSerializer, **NEED_ERRORS}),
)
class NeedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, ScopedViewSet):
    # 需求征集: the poster's own needs (selectors.needs_of).

    filterset_class = ChallengeFilter
    search_fields = []
    ordering_fields = ["created_at", "submitted_at", "bid_deadline"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.needs_of(self.request.user)

    def get_serializer_class(self):
        return {"list": ChallengeListSerializer, "create": NeedInputSerializer,
                "partial_update": NeedInputSerializer}.get(self.action, NeedSerializer)

    def get_object(self):
        return selectors.need_for_poster(self.request.user, pk_of(self))

    def _respond(self, pk, status_code=status.HTTP_200_OK) -> Response:
        need = selectors.need_for_poster(self.request.user, pk)
        return Response(NeedSerializer(need, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = self._input(NeedInputSerializer)
        need = services.create_challenge(actor=request.user, data=data)
        return self._respond(need.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        need = self.get_object()
        data = self._input(NeedInputSerializer, partial=True)
        services.update_challenge(actor=request.user, challenge_id=need.pk, data=data)
        return self._respond(need.pk)

    @_need_action(_("设置技术指标"), _("整体替换需求的技术指标（仅草稿）。"), TargetsInputSerializer)
    @action(detail=True, methods=["post"])
    def targets(self, request, pk=None):
        need = self.get_object()
        data = self._input(TargetsInputSerializer)
        services.set_challenge_targets(actor=request.user, challenge_id=need.pk,
                                       targets=[dict(t) for t in data["targets"]])
        return self._respond(need.pk)

    @_need_action(_("提交需求"), _("须同意发榜承诺；提交前逐项检查，未通过时返回 400 并逐条列出原因。"),
                  CommitmentSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        need = self.get_object()
        data = self._input(CommitmentSerializer)
        services.submit_challenge(actor=request.user, challenge_id=need.pk,
                                  accept_commitment=data["accept_commitment"])
        return self._respond(need.pk)

    @_need_action(_("撤回需求"), _("草稿或已提交（尚未论证）的需求可撤回。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        need = self.get_object()
        data = self._input(ReasonSerializer)
        services.withdraw_challenge(actor=request.user, challenge_id=need.pk, reason=data.get("reason", ""))
        return self._respond(need.pk)

    @_need_action(_("确认揭榜结果"), _("评审中的榜单：发榜单位从评审中的方案里选定入选团队，各入选方案立项。"),
                  AwardSerializer)
    @action(detail=True, methods=["post"])
    def award(self, request, pk=None):
        need = self.get_object()
        data = self._input(AwardSerializer)
        services.award_challenge(actor=request.user, challenge_id=need.pk, bid_ids=data["bid_ids"],
                                 opinion=data.get("opinion", ""))
        return self._respond(need.pk)

    @_need_action(_("流标"), _("评审中没有合适的方案时，发榜单位可办理流标；须填写理由。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request, pk=None):
        need = self.get_object()
        data = self._input(ReasonSerializer)
        services.fail_challenge(actor=request.user, challenge_id=need.pk, reason=data.get("reason", ""))
        return self._respond(need.pk)

    @extend_schema(summary=_("待确认的揭榜方案"),
                   description=_("评审开始后，本轮评审中的方案（按综合得分排序）；此前为空列表。证件号码已脱敏。"),
                   filters=False,
                   responses={200: paged_schema(BidDetailSerializer, "PaginatedPosterBidList"), 404: NEED_ERRORS[404]})
    @action(detail=True, methods=["get"], filter_backends=[])
    def bids(self, request, pk=None):
        need = self.get_object()
        return self._page(selectors.bids_for_poster(request.user, need), BidDetailSerializer)

    @extend_schema(summary=_("发榜单位答复问题"),
                   description=_("答复本单位榜单上的问题；答复公开显示在榜单上（不含提问单位）。"
                                 "其他榜单的问题返回 404。"),
                   request=AnswerSerializer, responses={200: QuestionSerializer, **NEED_QUESTION_ERRORS})
    @action(detail=True, methods=["post"], url_path=r"questions/(?P<question_id>[0-9]+)/answer")
    def answer_question(self, request, pk=None, question_id=None):
        need = self.get_object()
        try:
            qid = int(question_id)
        except (TypeError, ValueError):
            raise Http404 from None
        if not 1 <= qid <= MAX_ID:
            raise Http404
        question = selectors.question_for_poster(request.user, qid)
        if question.challenge_id != need.pk:
            raise Http404
        data = self._input(AnswerSerializer)
        question = services.answer_question(actor=request.user, question_id=question.pk, answer=data["answer"])
        return Response(QuestionSerializer(question).data)


# ---- the bidder's plans -------------------------------------------------------------------------------------


class BidCreateSerializer(serializers.Serializer):
    challenge = serializers.PrimaryKeyRelatedField(queryset=selectors.public_challenges(), help_text=_("榜单 ID"))


class BidInputSerializer(serializers.Serializer):
    """揭榜方案的基本信息（仅草稿可改）。"""

    title = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=_("方案名称"))
    plan = serializers.CharField(max_length=50000, required=False, allow_blank=True, help_text=_("技术方案"))
    foundation = serializers.CharField(max_length=50000, required=False, allow_blank=True, help_text=_("研究基础"))
    discipline_code = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                            help_text=_("学科代码"))
    keywords = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text=_("关键词"))
    leader_name = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text=_("团队负责人"))
    leader_id_number = serializers.CharField(max_length=30, required=False, allow_blank=True,
                                             help_text=_("负责人证件号码"))
    leader_title = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text=_("负责人职称"))
    leader_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, help_text=_("负责人电话"))
    amount = input_money(required=False, help_text=_("揭榜金额（元），不得超过悬赏金额，须等于各里程碑金额之和"))


class PartnerInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, help_text=_("成员单位名称"))
    credit_code = serializers.CharField(max_length=30, allow_blank=True, help_text=_("统一社会信用代码"))
    kind = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text=_(
        "单位性质：enterprise 企业；university 高等院校；institute 科研院所；hospital 医疗卫生机构；other 其他"))
    role = serializers.CharField(max_length=300, required=False, allow_blank=True, help_text=_("分工"))


class PartnersInputSerializer(serializers.Serializer):
    partners = PartnerInputSerializer(many=True, help_text=_("联合体成员（整体替换；为空表示独立揭榜）"))


class MemberInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50, allow_blank=True, help_text=_("姓名"))
    id_number = serializers.CharField(max_length=30, required=False, allow_blank=True, help_text=_("证件号码"))
    organization_name = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                              help_text=_("工作单位"))
    title = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text=_("职称"))
    role = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=_("分工"))


class MembersInputSerializer(serializers.Serializer):
    members = MemberInputSerializer(many=True, help_text=_("团队成员（整体替换）"))


class MilestoneInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, help_text=_("里程碑"))
    targets = serializers.CharField(max_length=5000, help_text=_("考核指标"))
    due_date = serializers.DateField(help_text=_("完成时间"))
    amount = input_money(help_text=_("对应金额（元）"))


class MilestonesInputSerializer(serializers.Serializer):
    milestones = MilestoneInputSerializer(many=True, help_text=_("里程碑计划（整体替换，按完成时间先后）"))


_bid_action = action_schema(BidDetailSerializer, BID_ERRORS)


@extend_schema_view(
    list=extend_schema(summary=_("本单位的揭榜方案"), description=_("本单位的全部方案；其他单位的方案从不可见。")),
    retrieve=extend_schema(summary=_("揭榜方案详情"), responses={200: BidDetailSerializer, 404: BID_ERRORS[404]}),
    create=extend_schema(summary=_("揭榜（新建方案草稿）"),
                         description=_("在揭榜期内对一个榜单起草方案；发榜单位不能揭自己的榜（403），每单位每轮一份（400）。"),
                         request=BidCreateSerializer,
                         responses={201: BidDetailSerializer, 400: BID_ERRORS[400], 403: BID_ERRORS[403],
                                    409: BID_ERRORS[409]}),
    partial_update=extend_schema(summary=_("修改揭榜方案"), description=_("仅草稿可修改；已提交的方案返回 409。"),
                                 request=BidInputSerializer, responses={200: BidDetailSerializer, **BID_ERRORS}),
)
class BidViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 mixins.UpdateModelMixin, ScopedViewSet):
    # 揭榜方案: the bidder's own (selectors.bids_of / bid_for_bidder).

    filterset_class = BidFilter
    search_fields = []
    ordering_fields = ["created_at", "submitted_at"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.bids_of(self.request.user).select_related("organization")

    def get_serializer_class(self):
        return {"list": BidListSerializer, "create": BidCreateSerializer,
                "partial_update": BidInputSerializer}.get(self.action, BidDetailSerializer)

    def get_object(self):
        return selectors.bid_for_bidder(self.request.user, pk_of(self))

    def _respond(self, pk, status_code=status.HTTP_200_OK) -> Response:
        bid = selectors.bid_for_bidder(self.request.user, pk)
        return Response(BidDetailSerializer(bid, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        data = self._input(BidCreateSerializer)
        bid = services.create_bid(actor=request.user, challenge_id=data["challenge"].pk)
        return self._respond(bid.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        bid = self.get_object()
        data = self._input(BidInputSerializer, partial=True)
        services.update_bid(actor=request.user, bid_id=bid.pk, data=data)
        return self._respond(bid.pk)

    @_bid_action(_("设置联合体成员"), _("整体替换（仅草稿）；牵头单位不必列入。"), PartnersInputSerializer)
    @action(detail=True, methods=["post"])
    def partners(self, request, pk=None):
        bid = self.get_object()
        data = self._input(PartnersInputSerializer)
        services.set_bid_partners(actor=request.user, bid_id=bid.pk, partners=[dict(p) for p in data["partners"]])
        return self._respond(bid.pk)

    @_bid_action(_("设置团队成员"), _("整体替换（仅草稿）。"), MembersInputSerializer)
    @action(detail=True, methods=["post"])
    def members(self, request, pk=None):
        bid = self.get_object()
        data = self._input(MembersInputSerializer)
        services.set_bid_members(actor=request.user, bid_id=bid.pk, members=[dict(m) for m in data["members"]])
        return self._respond(bid.pk)

    @_bid_action(_("设置里程碑计划"), _("整体替换（仅草稿）；各里程碑金额之和须等于揭榜金额（提交时检查）。"),
                 MilestonesInputSerializer)
    @action(detail=True, methods=["post"])
    def milestones(self, request, pk=None):
        bid = self.get_object()
        data = self._input(MilestonesInputSerializer)
        services.set_bid_milestones(actor=request.user, bid_id=bid.pk,
                                    milestones=[dict(m) for m in data["milestones"]])
        return self._respond(bid.pk)

    @_bid_action(_("提交揭榜方案"), _("须签署军令状（accept_commitment=true）；提交前逐项检查，未通过时返回 400 并逐条列出原因。"),
                 CommitmentSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        bid = self.get_object()
        data = self._input(CommitmentSerializer)
        services.submit_bid(actor=request.user, bid_id=bid.pk, accept_commitment=data["accept_commitment"])
        return self._respond(bid.pk)

    @_bid_action(_("撤回揭榜方案"), _("草稿随时可撤回；已提交的方案在揭榜截止前可撤回。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        bid = self.get_object()
        data = self._input(ReasonSerializer)
        services.withdraw_bid(actor=request.user, bid_id=bid.pk, reason=data.get("reason", ""))
        return self._respond(bid.pk)


# ---- the bureau's desk --------------------------------------------------------------------------------------

_OFFICE_TRANSITIONS = {"start_vetting", "return", "reject", "publish", "close", "start_review", "fail", "cancel",
                       "republish"}


class OfficeChallengeListSerializer(ChallengeListSerializer):
    organization = OrganizationBriefSerializer(read_only=True)

    class Meta(ChallengeListSerializer.Meta):
        fields = [*ChallengeListSerializer.Meta.fields, "organization", "submitted_at", "vetting_score"]
        read_only_fields = fields


class OfficeChallengeSerializer(OfficeChallengeListSerializer):
    targets = TargetSerializer(many=True, read_only=True)
    questions = serializers.SerializerMethodField(help_text=_("全部答疑，含提问单位"))
    available_actions = serializers.SerializerMethodField(
        help_text=_("当前用户此刻可执行的操作：start_vetting、return、reject、publish、extend、close、start_review、"
                    "defence_scores、fail、cancel、republish"))

    class Meta(OfficeChallengeListSerializer.Meta):
        fields = [*OfficeChallengeListSerializer.Meta.fields, "discipline_code", "problem", "expected_outcome",
                  "defence_weight", "contact_name", "contact_phone", "commitment_accepted_at", "closed_at",
                  "decided_at", "vetting_opinion", "last_reason", "created_at", "updated_at", "targets", "questions",
                  "available_actions"]
        read_only_fields = fields

    @extend_schema_field(OfficeQuestionSerializer(many=True))
    def get_questions(self, obj):
        return OfficeQuestionSerializer(selectors.questions_for(request_user(self), obj), many=True).data

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if not (user and user.has_perm("projects.manage_challenges")):
            return []
        names = [t.name for t in services.CHALLENGE_WORKFLOW.available(obj.state) if t.name in _OFFICE_TRANSITIONS]
        if obj.state == CH.PUBLISHED:
            names.append("extend")
        if obj.state == CH.REVIEWING and obj.has_defence:
            names.append("defence_scores")
        return names


class OpinionSerializer(serializers.Serializer):
    opinion = serializers.CharField(required=False, allow_blank=True, max_length=5000, help_text=_("论证意见"))


class PublishSerializer(OpinionSerializer):
    program = _id_field(help_text=_("揭榜挂帅类计划 ID"))
    bid_deadline = serializers.DateTimeField(help_text=_("揭榜截止时间"))
    max_winners = serializers.IntegerField(min_value=1, max_value=MAX_WINNERS, required=False, allow_null=True,
                                           help_text=_("入选团队数；不填沿用需求"))
    defence_weight = serializers.DecimalField(max_digits=3, decimal_places=2, min_value=0, max_value=1,
                                              required=False, allow_null=True,
                                              help_text=_("答辩成绩权重，0 表示不组织答辩"))


class RepublishSerializer(OpinionSerializer):
    bid_deadline = serializers.DateTimeField(help_text=_("新的揭榜截止时间"))
    max_winners = serializers.IntegerField(min_value=1, max_value=MAX_WINNERS, required=False, allow_null=True)
    defence_weight = serializers.DecimalField(max_digits=3, decimal_places=2, min_value=0, max_value=1,
                                              required=False, allow_null=True)


class ExtendSerializer(ReasonSerializer):
    bid_deadline = serializers.DateTimeField(help_text=_("新的揭榜截止时间，须晚于原截止时间"))


class DefenceScoresSerializer(serializers.Serializer):
    scores = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True, max_length=20),
        help_text=_("方案 ID → 答辩得分（0–100，最多两位小数），如 {\"12\": \"86.5\"}"))

    def validate_scores(self, value):
        for key in value:
            if not str(key).isdigit() or not 1 <= int(key) <= MAX_ID:
                raise serializers.ValidationError(_("方案 ID 无效：%(k)s") % {"k": key})
        return value


_office_action = action_schema(OfficeChallengeSerializer, OFFICE_ERRORS)


@extend_schema_view(
    list=extend_schema(summary=_("揭榜挂帅办理"),
                       description=_("科技局业务人员和局领导看到已提交的全部需求；其他用户为空列表。")),
    retrieve=extend_schema(summary=_("需求办理详情"), description=_("含技术指标和全部答疑（含提问单位）。"),
                           responses={200: OfficeChallengeSerializer, 404: OFFICE_ERRORS[404]}),
)
class OfficeChallengeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    # 论证、发榜、截止、评审、流标、撤榜 (selectors.challenges_for_bureau); the services check the officer.

    filterset_class = ChallengeFilter
    search_fields = []
    ordering_fields = ["submitted_at", "bid_deadline", "bounty"]
    ordering = ["-submitted_at", "-id"]

    def get_queryset(self):
        return selectors.challenges_for_bureau(self.request.user)

    def get_serializer_class(self):
        return OfficeChallengeListSerializer if self.action == "list" else OfficeChallengeSerializer

    def get_object(self):
        return selectors.challenge_for_bureau(self.request.user, pk_of(self))

    def _respond(self, pk) -> Response:
        challenge = selectors.challenge_for_bureau(self.request.user, pk)
        return Response(OfficeChallengeSerializer(challenge, context=self.get_serializer_context()).data)

    def _question(self, challenge, question_id) -> ChallengeQuestion:
        try:
            qid = int(question_id)
        except (TypeError, ValueError):
            raise Http404 from None
        question = selectors.questions_for(self.request.user, challenge).filter(pk=qid).first() \
            if 1 <= qid <= MAX_ID else None
        if question is None:
            raise Http404
        return question

    @_office_action(_("开始论证"), _("受理已提交的需求。"), OpinionSerializer)
    @action(detail=True, methods=["post"], url_path="start-vetting")
    def start_vetting(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(OpinionSerializer)
        services.start_vetting(actor=request.user, challenge_id=challenge.pk, opinion=data.get("opinion", ""))
        return self._respond(challenge.pk)

    @_office_action(_("退回修改"), _("须填写理由；需求回到草稿。"), ReasonSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(ReasonSerializer)
        services.return_challenge(actor=request.user, challenge_id=challenge.pk, reason=data.get("reason", ""))
        return self._respond(challenge.pk)

    @_office_action(_("论证不通过"), _("须填写理由。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(ReasonSerializer)
        services.reject_challenge(actor=request.user, challenge_id=challenge.pk, reason=data.get("reason", ""))
        return self._respond(challenge.pk)

    @_office_action(_("发榜"), _("论证中的需求在一个启用的揭榜挂帅类计划下发布，并设定揭榜截止时间。"), PublishSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(PublishSerializer)
        services.publish_challenge(actor=request.user, challenge_id=challenge.pk, program_id=data["program"],
                                   bid_deadline=data["bid_deadline"], max_winners=data.get("max_winners"),
                                   defence_weight=data.get("defence_weight"), opinion=data.get("opinion", ""))
        return self._respond(challenge.pk)

    @_office_action(_("延期"), _("揭榜中的榜单延长截止时间。"), ExtendSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(ExtendSerializer)
        services.extend_bid_deadline(actor=request.user, challenge_id=challenge.pk, bid_deadline=data["bid_deadline"],
                                     reason=data.get("reason", ""))
        return self._respond(challenge.pk)

    @_office_action(_("截止揭榜"), _("截止时间已过的榜单；未提交的方案作废。截止时间未到返回 409。"))
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        challenge = self.get_object()
        services.close_challenge(actor=request.user, challenge_id=challenge.pk)
        return self._respond(challenge.pk)

    @_office_action(_("开始评审"), _("已截止且收到方案的榜单进入评审；没有方案时返回 400，请办理流标。"))
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        challenge = self.get_object()
        services.start_review(actor=request.user, challenge_id=challenge.pk)
        return self._respond(challenge.pk)

    @_office_action(_("录入答辩成绩"), _("评审中且组织答辩的榜单。"), DefenceScoresSerializer)
    @action(detail=True, methods=["post"], url_path="defence-scores")
    def defence_scores(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(DefenceScoresSerializer)
        services.record_defence_scores(actor=request.user, challenge_id=challenge.pk, scores=data["scores"])
        return self._respond(challenge.pk)

    @_office_action(_("流标"), _("须填写理由；本轮全部方案作废，之后可重新发榜。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(ReasonSerializer)
        services.fail_challenge(actor=request.user, challenge_id=challenge.pk, reason=data.get("reason", ""))
        return self._respond(challenge.pk)

    @_office_action(_("撤榜"), _("须填写理由；本轮全部方案作废。"), ReasonSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(ReasonSerializer)
        services.cancel_challenge(actor=request.user, challenge_id=challenge.pk, reason=data.get("reason", ""))
        return self._respond(challenge.pk)

    @_office_action(_("重新发榜"), _("流标后以新的截止时间重新发布（新一轮）。"), RepublishSerializer)
    @action(detail=True, methods=["post"])
    def republish(self, request, pk=None):
        challenge = self.get_object()
        data = self._input(RepublishSerializer)
        services.republish_challenge(actor=request.user, challenge_id=challenge.pk,
                                     bid_deadline=data["bid_deadline"], max_winners=data.get("max_winners"),
                                     defence_weight=data.get("defence_weight"), opinion=data.get("opinion", ""))
        return self._respond(challenge.pk)

    @extend_schema(summary=_("揭榜方案"), description=_("已提交的各轮方案（不含草稿），证件号码已脱敏。"), filters=False,
                   responses={200: paged_schema(BidDetailSerializer, "PaginatedOfficeBidList"), 404: OFFICE_ERRORS[404]})
    @action(detail=True, methods=["get"], filter_backends=[])
    def bids(self, request, pk=None):
        challenge = self.get_object()
        return self._page(selectors.bids_for_bureau(request.user, challenge), BidDetailSerializer)

    @extend_schema(summary=_("答复问题"), description=_("答复公开显示在榜单上（不含提问单位）。"), request=AnswerSerializer,
                   responses={200: OfficeQuestionSerializer, **OFFICE_ERRORS})
    @action(detail=True, methods=["post"], url_path=r"questions/(?P<question_id>[0-9]+)/answer")
    def answer_question(self, request, pk=None, question_id=None):
        question = self._question(self.get_object(), question_id)
        data = self._input(AnswerSerializer)
        question = services.answer_question(actor=request.user, question_id=question.pk, answer=data["answer"])
        return Response(OfficeQuestionSerializer(question).data)

    @extend_schema(summary=_("不予公开"), description=_("待答复的问题不予公开；须填写理由。"), request=ReasonSerializer,
                   responses={200: OfficeQuestionSerializer, **OFFICE_ERRORS})
    @action(detail=True, methods=["post"], url_path=r"questions/(?P<question_id>[0-9]+)/dismiss")
    def dismiss_question(self, request, pk=None, question_id=None):
        question = self._question(self.get_object(), question_id)
        data = self._input(ReasonSerializer)
        question = services.dismiss_question(actor=request.user, question_id=question.pk,
                                             reason=data.get("reason", ""))
        return Response(OfficeQuestionSerializer(question).data)


# ---- the winners' projects ----------------------------------------------------------------------------------


class ProjectMilestoneSerializer(serializers.ModelSerializer):
    state = enum_field("ProjectMilestoneState", ProjectMilestone.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    poster_verdict = enum_field("MilestoneVerdictCode", ProjectMilestone.Verdict, allow_blank=True,
                                 help_text=_("发榜方意见；尚未评价为空"))
    poster_verdict_display = serializers.CharField(source="get_poster_verdict_display", read_only=True)
    amount = money_field(help_text=_("对应金额（元）"))

    class Meta:
        model = ProjectMilestone
        fields = ["id", "position", "title", "targets", "due_date", "amount", "state", "state_display", "report",
                  "reported_at", "poster_verdict", "poster_verdict_display", "poster_opinion", "poster_at",
                  "expert_score", "expert_review_count", "conclusion", "concluded_at"]
        read_only_fields = fields


class AcceptanceResultSerializer(serializers.Serializer):
    target_id = serializers.IntegerField()
    name = serializers.CharField()
    target_value = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    verification = serializers.CharField(allow_blank=True)
    achieved = serializers.CharField(help_text=_("完成值"))
    evidence = serializers.CharField(allow_blank=True, help_text=_("佐证材料"))
    met = serializers.BooleanField(allow_null=True, help_text=_("发榜方判断是否达到；尚未评价为 null"))


class AcceptanceSerializer(serializers.ModelSerializer):
    state = enum_field("ChallengeAcceptanceState", ChallengeAcceptance.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    results = AcceptanceResultSerializer(many=True, read_only=True)
    targets_met = serializers.IntegerField(read_only=True, help_text=_("达到的指标数"))

    class Meta:
        model = ChallengeAcceptance
        fields = ["state", "state_display", "report", "results", "targets_met", "applied_at", "poster_opinion",
                  "poster_at", "conclusion", "concluded_at"]
        read_only_fields = fields


class ChallengeProjectListSerializer(serializers.ModelSerializer):
    state = enum_field("ProjectState", Project.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    organization = OrganizationBriefSerializer(read_only=True)
    challenge = ChallengeBriefSerializer(read_only=True)
    bid_id = serializers.IntegerField(read_only=True)
    bid_amount = money_field(source="bid.amount", help_text=_("揭榜金额（元）"))
    granted_amount = money_field(help_text=_("财政资金（元）"))

    class Meta:
        model = Project
        fields = ["id", "number", "title", "state", "state_display", "organization", "challenge", "bid_id",
                  "leader_name", "bid_amount", "granted_amount", "start_date", "end_date", "established_at",
                  "ended_at"]
        read_only_fields = fields


class ChallengeProjectSerializer(ChallengeProjectListSerializer):
    milestones = ProjectMilestoneSerializer(many=True, read_only=True)
    targets = TargetSerializer(source="challenge.targets", many=True, read_only=True)
    acceptance = serializers.SerializerMethodField(help_text=_("最终验收；尚未申请为 null"))

    class Meta(ChallengeProjectListSerializer.Meta):
        fields = [*ChallengeProjectListSerializer.Meta.fields, "end_reason", "targets", "milestones", "acceptance"]
        read_only_fields = fields

    @extend_schema_field(AcceptanceSerializer(allow_null=True))
    def get_acceptance(self, obj):
        acc = selectors.acceptance_of(obj)
        return AcceptanceSerializer(acc).data if acc is not None else None


class ReportSerializer(serializers.Serializer):
    report = serializers.CharField(max_length=20000, allow_blank=True, help_text=_("进展报告"))


class JudgeMilestoneSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=ProjectMilestone.Verdict.choices,
                                      help_text=_("pass 同意通过；fail 不同意通过"))
    opinion = serializers.CharField(max_length=5000, allow_blank=True, help_text=_("发榜方评价"))


class ConcludeSerializer(serializers.Serializer):
    passed = serializers.BooleanField(help_text=_("是否通过"))
    conclusion = serializers.CharField(required=False, allow_blank=True, max_length=5000,
                                       help_text=_("结论；不通过时必填"))


class StopSerializer(serializers.Serializer):
    milestone = _id_field(help_text=_("据以淘汰的、已考核的里程碑 ID"))
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text=_("理由"))


class AchievedSerializer(serializers.Serializer):
    achieved = serializers.CharField(max_length=200, allow_blank=True, help_text=_("完成值"))
    evidence = serializers.CharField(max_length=1000, required=False, allow_blank=True, help_text=_("佐证材料"))


class ApplyAcceptanceSerializer(serializers.Serializer):
    report = serializers.CharField(max_length=50000, allow_blank=True, help_text=_("总结报告"))
    results = serializers.DictField(child=AchievedSerializer(), help_text=_("技术指标 ID → 完成值与佐证"))


class JudgeAcceptanceSerializer(serializers.Serializer):
    met = serializers.DictField(child=serializers.BooleanField(), help_text=_("技术指标 ID → 是否达到"))
    opinion = serializers.CharField(max_length=5000, allow_blank=True, help_text=_("发榜方意见"))


_project_action = action_schema(ChallengeProjectSerializer, PROJECT_ERRORS)


MILESTONE_PATH = r"milestones/(?P<milestone_id>[0-9]+)"


@extend_schema_view(
    list=extend_schema(summary=_("揭榜挂帅项目"),
                       description=_("承担单位看到本单位的项目，发榜单位看到本榜单的项目，科技局看到全部；其他用户为空列表。")),
    retrieve=extend_schema(summary=_("揭榜挂帅项目详情"), description=_("含里程碑、技术指标和最终验收。"),
                           responses={200: ChallengeProjectSerializer, 404: PROJECT_ERRORS[404]}),
)
class ChallengeProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    # 揭榜项目: the team, the poster and the bureau (selectors.challenge_projects_visible_to); the services check
    # who may report (the team), judge (the poster) and conclude or stop (the bureau).

    filterset_class = ProjectFilter
    search_fields = []
    ordering_fields = ["established_at", "number"]
    ordering = ["-established_at", "-id"]

    def get_queryset(self):
        return selectors.challenge_projects_visible_to(self.request.user)

    def get_serializer_class(self):
        return ChallengeProjectListSerializer if self.action == "list" else ChallengeProjectSerializer

    def get_object(self):
        return selectors.challenge_project_for(self.request.user, pk_of(self))

    def _respond(self, pk) -> Response:
        project = selectors.challenge_project_for(self.request.user, pk)
        return Response(ChallengeProjectSerializer(project, context=self.get_serializer_context()).data)

    def _milestone(self, project, milestone_id) -> ProjectMilestone:
        for m in project.milestones.all():
            if str(m.pk) == str(milestone_id):
                return m
        raise Http404

    @_project_action(_("提交里程碑报告"), _("承担单位按顺序提交（之前的里程碑须已通过）。"), ReportSerializer)
    @action(detail=True, methods=["post"], url_path=f"{MILESTONE_PATH}/report")
    def report_milestone(self, request, pk=None, milestone_id=None):
        project = self.get_object()
        milestone = self._milestone(project, milestone_id)
        data = self._input(ReportSerializer)
        services.report_milestone(actor=request.user, milestone_id=milestone.pk, report=data["report"])
        return self._respond(project.pk)

    @_project_action(_("发榜方评价里程碑"), _("发榜单位对已报告的里程碑给出同意或不同意通过的意见。"),
                     JudgeMilestoneSerializer)
    @action(detail=True, methods=["post"], url_path=f"{MILESTONE_PATH}/judge")
    def judge_milestone(self, request, pk=None, milestone_id=None):
        project = self.get_object()
        milestone = self._milestone(project, milestone_id)
        data = self._input(JudgeMilestoneSerializer)
        services.judge_milestone(actor=request.user, milestone_id=milestone.pk, verdict=data["verdict"],
                                 opinion=data["opinion"])
        return self._respond(project.pk)

    @_project_action(_("里程碑考核结论"), _("科技局在发榜方评价后给出考核结论；不通过须填写结论。"), ConcludeSerializer)
    @action(detail=True, methods=["post"], url_path=f"{MILESTONE_PATH}/conclude")
    def conclude_milestone(self, request, pk=None, milestone_id=None):
        project = self.get_object()
        milestone = self._milestone(project, milestone_id)
        data = self._input(ConcludeSerializer)
        services.conclude_milestone(actor=request.user, milestone_id=milestone.pk, passed=data["passed"],
                                    conclusion=data.get("conclusion", ""))
        return self._respond(project.pk)

    @_project_action(_("终止项目（赛马制淘汰）"), _("科技局在某个里程碑考核结束后淘汰落后的团队；最后一个在研团队不能淘汰。"),
                     StopSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        project = self.get_object()
        data = self._input(StopSerializer)
        services.stop_project(actor=request.user, project_id=project.pk, milestone_id=data["milestone"],
                              reason=data["reason"])
        return self._respond(project.pk)

    @_project_action(_("申请验收"), _("全部里程碑通过后，承担单位逐项填写技术指标完成值。"), ApplyAcceptanceSerializer)
    @action(detail=True, methods=["post"])
    def acceptance(self, request, pk=None):
        project = self.get_object()
        data = self._input(ApplyAcceptanceSerializer)
        services.apply_acceptance(actor=request.user, project_id=project.pk, report=data["report"],
                                  results={k: dict(v) for k, v in data["results"].items()})
        return self._respond(project.pk)

    @_project_action(_("发榜方评价验收"), _("发榜单位逐项判断技术指标是否达到。"), JudgeAcceptanceSerializer)
    @action(detail=True, methods=["post"], url_path="acceptance/judge")
    def judge_acceptance(self, request, pk=None):
        project = self.get_object()
        data = self._input(JudgeAcceptanceSerializer)
        services.judge_acceptance(actor=request.user, project_id=project.pk, met=data["met"],
                                  opinion=data["opinion"])
        return self._respond(project.pk)

    @_project_action(_("验收结论"), _("科技局在发榜方评价后确认验收通过或不通过；项目随之结束。"), ConcludeSerializer)
    @action(detail=True, methods=["post"], url_path="acceptance/conclude")
    def conclude_acceptance(self, request, pk=None):
        project = self.get_object()
        data = self._input(ConcludeSerializer)
        services.conclude_acceptance(actor=request.user, project_id=project.pk, passed=data["passed"],
                                     conclusion=data.get("conclusion", ""))
        return self._respond(project.pk)
