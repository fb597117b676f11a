"""REST API for expert review: the expert's invitations and reviews, the bureau's rounds and expert pool.

Every queryset comes from ``experts.selectors`` (an expert sees only their own invitations, and the review
material only once they have accepted; only the bureau sees rounds and the pool: anyone else gets an empty
list or a 404). Every write calls the same service as the portal (``experts.services``), and a refusal comes
back as 400/403/409 with the reason (see accounts.exceptions). Money is in 元, as decimal strings with two
places; ID numbers are always masked.
"""

import django_filters
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.network import client_ip
from projects.api import enum_field, error_responses, money_field, paged_schema
from projects.filters import MAX_ID, IdFilter, YearFilter

from . import selectors
from .models import Assignment, Criterion, Draw, Expert, Review, ReviewRound
from .services import assign, reviews

AS = Assignment.State






INVITATION_ERRORS = error_responses(_("评审邀请不存在或不是本人的"))
REVIEW_ERRORS = error_responses(_("评审任务不存在、不是本人的，或尚未接受邀请"))
ROUND_ERRORS = error_responses(_("评审轮次不存在或无权查看"))
PAGE_PARAMETER = OpenApiParameter("page", int, description=_("页码"))




def _organization_unless_blind(assignment: Assignment) -> str | None:
    return None if assignment.round.blind else assignment.item.organization_name


# ---- the expert's invitations ----------------------------------------------------------------------


class CommitmentItemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("承诺事项代码，接受邀请时逐项提交"))
    text = serializers.CharField(help_text=_("承诺内容"))


class InvitationSerializer(serializers.ModelSerializer):
    state = enum_field("AssignmentState", AS)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    round_id = serializers.IntegerField(source="round.pk", read_only=True)
    round_name = serializers.CharField(source="round.name", read_only=True, help_text=_("评审轮次"))
    blind = serializers.BooleanField(source="round.blind", read_only=True, help_text=_("是否盲评"))
    review_deadline = serializers.DateTimeField(source="round.review_deadline", read_only=True,
                                                help_text=_("评审截止时间"))
    item_number = serializers.CharField(source="item.number", read_only=True, help_text=_("评审对象编号"))
    item_title = serializers.CharField(source="item.title", read_only=True, help_text=_("评审对象名称"))
    discipline_code = serializers.CharField(source="item.discipline_code", read_only=True, help_text=_("学科代码"))
    organization_name = serializers.SerializerMethodField(help_text=_("申报单位；盲评时为 null"))

    class Meta:
        model = Assignment
        fields = [
            "id",
            "state",
            "state_display",
            "round_id",
            "round_name",
            "blind",
            "item_number",
            "item_title",
            "discipline_code",
            "organization_name",
            "invited_at",
            "respond_by",
            "review_deadline",
            "responded_at",
            "decline_reason",
            "submitted_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_organization_name(self, obj):
        return _organization_unless_blind(obj)


class InvitationDetailSerializer(InvitationSerializer):
    can_respond = serializers.SerializerMethodField(help_text=_("此刻能否接受或谢绝（待答复、评审中、未过答复截止时间）"))
    commitment_version = serializers.SerializerMethodField(help_text=_("承诺书版本"))
    commitment_items = serializers.SerializerMethodField(help_text=_("接受邀请须逐项确认的评审承诺"))
    commitment_signed_at = serializers.SerializerMethodField(help_text=_("承诺书签署时间；未签署为 null"))

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "can_respond", "commitment_version", "commitment_items",
                  "commitment_signed_at"]
        read_only_fields = fields

    def get_can_respond(self, obj) -> bool:
        return (obj.state == AS.INVITED and obj.round.state == ReviewRound.State.REVIEWING
                and timezone.now() <= obj.respond_by)

    def get_commitment_version(self, obj) -> str:
        return reviews.COMMITMENT_VERSION

    @extend_schema_field(CommitmentItemSerializer(many=True))
    def get_commitment_items(self, obj):
        return [{"code": code, "text": str(text)} for code, text in reviews.COMMITMENT_ITEMS]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_commitment_signed_at(self, obj):
        try:
            signed_at = obj.commitment.signed_at
        except Assignment.commitment.RelatedObjectDoesNotExist:
            return None
        return serializers.DateTimeField().to_representation(signed_at)


class AcceptSerializer(serializers.Serializer):
    confirmed = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list, max_length=20,
        help_text=_("逐项确认的承诺事项代码（见 commitment_items），须全部确认"),
    )


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, help_text=_("谢绝理由（必填）"))


class ExpertScopedViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"[0-9]+"

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


@extend_schema_view(
    list=extend_schema(summary=_("我的评审邀请"), description=_("本人收到的全部评审邀请，最新的在前；非专家用户为空列表。")),
    retrieve=extend_schema(
        summary=_("评审邀请详情"), description=_("含须逐项确认的评审承诺。其他专家的邀请返回 404。"),
        responses={200: InvitationDetailSerializer, 404: INVITATION_ERRORS[404]},
    ),
)
class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ExpertScopedViewSet):
    # 评审邀请, the expert's own (selectors.assignments_for_expert).

    filterset_fields = ["state"]
    search_fields = ["item__number", "item__title", "round__name"]
    ordering_fields = ["invited_at", "respond_by"]
    ordering = ["-invited_at", "-id"]

    def get_queryset(self):
        return selectors.assignments_for_expert(self.request.user)

    def get_serializer_class(self):
        return InvitationSerializer if self.action == "list" else InvitationDetailSerializer

    def get_object(self):
        return selectors.invitation_for_expert(self.request.user, self.kwargs[self.lookup_field])

    def _respond(self, pk) -> Response:
        obj = selectors.invitation_for_expert(self.request.user, pk)
        return Response(InvitationDetailSerializer(obj, context=self.get_serializer_context()).data)

    @extend_schema(
        summary=_("接受邀请并签署承诺书"),
        description=_("须逐项确认评审承诺；超过答复截止时间或评审轮次不在评审中时返回 409。"),
        request=AcceptSerializer, responses={200: InvitationDetailSerializer, **INVITATION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        invitation = self.get_object()
        data = self._input(AcceptSerializer)
        reviews.accept_invitation(
            actor=request.user, assignment_id=invitation.pk, confirmed=data["confirmed"], ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return self._respond(invitation.pk)

    @extend_schema(
        summary=_("谢绝邀请"), description=_("须填写理由；谢绝后系统自动替补其他专家。"),
        request=DeclineSerializer, responses={200: InvitationDetailSerializer, **INVITATION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        invitation = self.get_object()
        data = self._input(DeclineSerializer)
        reviews.decline_invitation(actor=request.user, assignment_id=invitation.pk, reason=data.get("reason", ""))
        return self._respond(invitation.pk)


# ---- the expert's reviews --------------------------------------------------------------------------


class CriterionSerializer(serializers.ModelSerializer):
    max_score = serializers.DecimalField(max_digits=5, decimal_places=1, read_only=True, help_text=_("满分"))

    class Meta:
        model = Criterion
        fields = ["id", "name", "description", "max_score", "position"]
        read_only_fields = fields


class OwnReviewSerializer(serializers.ModelSerializer):
    total = serializers.DecimalField(max_digits=5, decimal_places=1, read_only=True, help_text=_("总分"))
    recommendation = enum_field("Recommendation", Review.Recommendation, allow_blank=True)
    recommendation_display = serializers.CharField(source="get_recommendation_display", read_only=True)
    scores = serializers.SerializerMethodField(help_text=_("评分指标 ID → 得分（一位小数的字符串）"))

    class Meta:
        model = Review
        fields = ["total", "scores", "comment", "recommendation", "recommendation_display", "reopen_count",
                  "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_scores(self, obj):
        return {str(s.criterion_id): f"{s.score:.1f}" for s in obj.scores.all()}


class ReviewTaskSerializer(InvitationSerializer):
    editable = serializers.SerializerMethodField(help_text=_("此刻能否修改评分（已接受且评审轮次在评审中）"))
    comment_threshold = serializers.DecimalField(
        source="round.comment_threshold", max_digits=5, decimal_places=2, read_only=True,
        help_text=_("总分低于此分数时必须填写评审意见"),
    )
    criteria = CriterionSerializer(source="round.criteria", many=True, read_only=True)
    review = serializers.SerializerMethodField(help_text=_("本人的评分；尚未保存为 null"))

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "editable", "comment_threshold", "criteria", "review"]
        read_only_fields = fields

    def get_editable(self, obj) -> bool:
        return obj.state == AS.ACCEPTED and obj.round.state == ReviewRound.State.REVIEWING

    @extend_schema_field(OwnReviewSerializer(allow_null=True))
    def get_review(self, obj):
        review = selectors.review_of(obj)
        return OwnReviewSerializer(review).data if review is not None else None


class ReviewInputSerializer(serializers.Serializer):
    scores = serializers.DictField(
        child=serializers.CharField(allow_blank=True, allow_null=True, max_length=20), required=False, default=dict,
        help_text=_("评分指标 ID → 得分，如 {\"12\": \"27.5\"}；每项不超过该指标满分，最多一位小数"),
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, help_text=_("评审意见"))
    recommendation = serializers.ChoiceField(
        choices=Review.Recommendation.choices, required=False, allow_blank=True,
        help_text=_("总体意见：fund 同意立项；revise 修改后立项；reject 不同意立项（提交时必填）"),
    )


@extend_schema_view(
    retrieve=extend_schema(
        summary=_("评审任务"),
        description=_("已接受（或已提交）的本人评审任务：评分指标和本人的评分。接受邀请前返回 404。"),
        responses={200: ReviewTaskSerializer, 404: REVIEW_ERRORS[404]},
    ),
)
class ReviewTaskViewSet(mixins.RetrieveModelMixin, ExpertScopedViewSet):
    # 评审任务: the material is the expert's only once they accepted (selectors.review_task_for_expert).

    serializer_class = ReviewTaskSerializer

    def get_queryset(self):
        return selectors.assignments_for_expert(self.request.user).filter(state__in=[AS.ACCEPTED, AS.SUBMITTED])

    def get_object(self):
        return selectors.review_task_for_expert(self.request.user, self.kwargs[self.lookup_field])

    def _respond(self, pk) -> Response:
        task = selectors.review_task_for_expert(self.request.user, pk)
        return Response(ReviewTaskSerializer(task, context=self.get_serializer_context()).data)

    @extend_schema(
        summary=_("保存评分（草稿）"),
        description=_("可只填部分指标；每项得分须在 0 到该指标满分之间。已提交的评审不能再修改（409）。"),
        request=ReviewInputSerializer, responses={200: ReviewTaskSerializer, **REVIEW_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def save(self, request, pk=None):
        task = self.get_object()
        data = self._input(ReviewInputSerializer)
        reviews.save_review(actor=request.user, assignment_id=task.pk, scores=data["scores"],
                            comment=data.get("comment", ""), recommendation=data.get("recommendation", ""))
        return self._respond(task.pk)

    @extend_schema(
        summary=_("提交评审意见"),
        description=_("每项指标都须评分并选择总体意见；总分低于分数线时须填写评审意见。提交后不能再修改。"),
        request=ReviewInputSerializer, responses={200: ReviewTaskSerializer, **REVIEW_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        task = self.get_object()
        data = self._input(ReviewInputSerializer)
        reviews.submit_review(actor=request.user, assignment_id=task.pk, scores=data["scores"],
                              comment=data.get("comment", ""), recommendation=data.get("recommendation", ""))
        return self._respond(task.pk)


# ---- the bureau: review rounds ---------------------------------------------------------------------


class RoundSerializer(serializers.ModelSerializer):
    state = enum_field("ReviewRoundState", ReviewRound.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    aggregation_display = serializers.CharField(source="get_aggregation_display", read_only=True)
    call_id = serializers.IntegerField(read_only=True, allow_null=True)
    call_title = serializers.CharField(source="call.title", read_only=True, default=None, allow_null=True)
    call_year = serializers.IntegerField(source="call.year", read_only=True, default=None, allow_null=True)
    item_count = serializers.IntegerField(read_only=True, help_text=_("评审对象数"))
    created_by = serializers.CharField(source="created_by.display_name", read_only=True, help_text=_("负责人"))
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = ReviewRound
        fields = [
            "id",
            "name",
            "kind",
            "call_id",
            "call_title",
            "call_year",
            "state",
            "state_display",
            "experts_per_item",
            "response_deadline",
            "review_deadline",
            "blind",
            "aggregation",
            "aggregation_display",
            "dispersion_threshold",
            "deviation_threshold",
            "comment_threshold",
            "item_count",
            "created_by",
            "started_at",
            "closed_at",
            "created_at",
            "criteria",
        ]
        read_only_fields = fields


class ProgressItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    panel = serializers.CharField(source="panel.label", default=None, allow_null=True, help_text=_("评审组"))


class ProgressRowSerializer(serializers.Serializer):
    item = ProgressItemSerializer()
    counts = serializers.SerializerMethodField(help_text=_("邀请状态 → 数量（每种状态都列出）"))
    active = serializers.IntegerField(help_text=_("待答复、已接受和已提交的邀请数"))
    submitted = serializers.IntegerField(help_text=_("已提交的评审意见数"))
    missing = serializers.IntegerField(help_text=_("尚缺的评审专家数"))

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, row):
        return {state: row["counts"].get(state, 0) for state in AS.values}


class RankingRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text=_("排名；尚无评分为 null"))
    item_id = serializers.IntegerField(source="item.pk")
    item_number = serializers.CharField(source="item.number")
    item_title = serializers.CharField(source="item.title")
    organization_name = serializers.CharField(source="item.organization_name")
    score = serializers.DecimalField(source="result.score", max_digits=5, decimal_places=2, allow_null=True,
                                     help_text=_("按轮次的得分计算方法得出的分数"))
    count = serializers.IntegerField(source="result.count", help_text=_("已提交的评审意见数"))
    std_dev = serializers.DecimalField(source="result.std_dev", max_digits=6, decimal_places=2,
                                       help_text=_("专家总分的标准差"))
    dispersed = serializers.BooleanField(source="result.dispersed", help_text=_("标准差超过离散度预警阈值"))
    insufficient = serializers.BooleanField(help_text=_("评审意见不足3份"))
    requested = money_field(help_text=_("申请财政资金（元）"))
    cumulative = money_field(help_text=_("按排名累计的申请财政资金（元）"))
    within_budget = serializers.BooleanField(help_text=_("累计金额是否在指南财政资金总额之内"))
    recommendations = serializers.DictField(child=serializers.IntegerField(), help_text=_("总体意见 → 专家数"))


class DrawInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=[(Draw.Method.RANDOM, Draw.Method.RANDOM.label), (Draw.Method.OPTIMAL, Draw.Method.OPTIMAL.label)],
        help_text=_("random 随机抽取；optimal 智能匹配"),
    )
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_ID,
                                    help_text=_("随机种子（仅随机抽取；不填则自动生成，记入抽取记录以便复核）"))
    panel = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID,
                                     help_text=_("只为该评审组抽取；不填则为全部评审对象"))

    def validate_panel(self, value):
        if value is not None and not self.context["round"].panels.filter(pk=value).exists():
            raise serializers.ValidationError(_("该评审组不属于此评审轮次。"))
        return value


class DrawResultSerializer(serializers.Serializer):
    draw_id = serializers.IntegerField(source="draw.pk", help_text=_("抽取记录 ID"))
    method = serializers.CharField(source="draw.method")
    seed = serializers.IntegerField(source="draw.seed", allow_null=True)
    created_at = serializers.DateTimeField(source="draw.created_at")
    invited = serializers.IntegerField(help_text=_("本次发出的邀请数"))
    needed = serializers.IntegerField(help_text=_("本次需要的专家人次"))
    shortfall = serializers.SerializerMethodField(help_text=_("评审对象 ID → 尚缺专家数（无合格专家可抽时）"))

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_shortfall(self, obj):
        return {str(k): v for k, v in obj.shortfall.items()}


class RoundFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=ReviewRound.State.choices, label=_("状态"))
    call = IdFilter(field_name="call_id", label=_("申报指南 ID"))
    year = YearFilter(field_name="call__year", label=_("年度"))

    class Meta:
        model = ReviewRound
        fields = ["state", "call", "year"]


@extend_schema_view(
    list=extend_schema(
        summary=_("评审轮次列表"),
        description=_("科技局业务人员和局领导可见；其他用户为空列表。"),
    ),
    retrieve=extend_schema(summary=_("评审轮次详情"), responses={200: RoundSerializer, 404: ROUND_ERRORS[404]}),
)
class ReviewRoundViewSet(viewsets.ReadOnlyModelViewSet):
    # 评审轮次, for the bureau only (selectors.rounds_visible_to).

    permission_classes = [IsAuthenticated]
    serializer_class = RoundSerializer
    filterset_class = RoundFilter
    search_fields = ["name", "call__title"]
    ordering_fields = ["created_at", "review_deadline", "name"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.rounds_visible_to(self.request.user).prefetch_related("criteria")

    def get_object(self):
        return selectors.round_for(self.request.user, self.kwargs[self.lookup_field])

    def _page(self, rows, serializer_class) -> Response:
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(serializer_class(page, many=True).data)

    @extend_schema(
        summary=_("评审进度"),
        description=_("每个评审对象各状态的邀请数、已提交数和尚缺专家数（分页）。"),
        filters=False,
        parameters=[PAGE_PARAMETER],
        responses={200: paged_schema(ProgressRowSerializer, "PaginatedProgressRowList"), 404: ROUND_ERRORS[404]},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def progress(self, request, pk=None):
        return self._page(selectors.round_progress(self.get_object()), ProgressRowSerializer)

    @extend_schema(
        summary=_("评审排名"),
        description=_("按得分排名，含离散度、评审意见是否不足3份、累计申请财政资金与指南预算（分页）。"),
        filters=False,
        parameters=[PAGE_PARAMETER],
        responses={200: paged_schema(RankingRowSerializer, "PaginatedRankingRowList"), 404: ROUND_ERRORS[404]},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def ranking(self, request, pk=None):
        return self._page(selectors.ranking(self.get_object()), RankingRowSerializer)

    @extend_schema(
        summary=_("抽取专家"),
        description=_(
            "随机抽取或智能匹配，为尚缺专家的评审对象发出邀请。仅科技局业务人员可操作（局领导 403）；"
            "评审轮次须在评审中（否则 409）。"
        ),
        request=DrawInputSerializer,
        responses={201: DrawResultSerializer, **ROUND_ERRORS},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def draw(self, request, pk=None):
        rnd = self.get_object()
        serializer = DrawInputSerializer(data=request.data, context={"round": rnd})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = assign.run_draw(actor=request.user, round_id=rnd.pk, method=data["method"], seed=data.get("seed"),
                                  panel_id=data.get("panel"))
        return Response(DrawResultSerializer(outcome).data, status=status.HTTP_201_CREATED)


# ---- the bureau: the expert pool -------------------------------------------------------------------


class ExpertSerializer(serializers.ModelSerializer):
    status = enum_field("ExpertStatus", Expert.Status)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    title_level_display = serializers.CharField(source="get_title_level_display", read_only=True)
    id_number = serializers.CharField(source="masked_id_number", read_only=True, help_text=_("证件号码（脱敏）"))
    organization_name = serializers.CharField(source="organization.name", read_only=True, default=None,
                                              allow_null=True, help_text=_("已注册单位"))
    discipline_codes = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=_("学科代码"))

    class Meta:
        model = Expert
        fields = [
            "id",
            "name",
            "id_number",
            "workplace",
            "workplace_credit_code",
            "organization_id",
            "organization_name",
            "title",
            "title_level",
            "title_level_display",
            "discipline_codes",
            "keywords",
            "region",
            "phone",
            "annual_cap",
            "status",
            "status_display",
            "status_reason",
            "approved_at",
            "created_at",
        ]
        read_only_fields = fields


class ExpertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=Expert.Status.choices, label=_("状态"))
    title_level = django_filters.ChoiceFilter(field_name="title_level", choices=Expert.TitleLevel.choices,
                                              label=_("职称级别"))
    region = django_filters.CharFilter(field_name="region", lookup_expr="icontains", label=_("所在地区"))

    class Meta:
        model = Expert
        fields = ["status", "title_level", "region"]


@extend_schema_view(
    list=extend_schema(summary=_("专家库"), description=_("科技局业务人员和局领导可见；证件号码已脱敏。其他用户为空列表。")),
    retrieve=extend_schema(summary=_("专家详情"), responses={200: ExpertSerializer, 404: OpenApiResponse(
        description=_("专家不存在或无权查看"))}),
)
class ExpertViewSet(viewsets.ReadOnlyModelViewSet):
    # 专家库, for the bureau only (selectors.experts_visible_to).

    permission_classes = [IsAuthenticated]
    serializer_class = ExpertSerializer
    filterset_class = ExpertFilter
    search_fields = ["name", "workplace", "keywords"]
    ordering_fields = ["name", "approved_at", "created_at"]
    ordering = ["name", "id"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.experts_visible_to(self.request.user)

    def get_object(self):
        try:
            return self.get_queryset().get(pk=int(self.kwargs[self.lookup_field]))
        except (Expert.DoesNotExist, ValueError, OverflowError):
            raise Http404 from None
