"""The REST API under /api/: calls, applications, expert review, the OpenAPI schema and its docs page.

The docs page (Swagger UI) is served from drf-spectacular-sidecar's vendored assets through our own
static files, never a CDN. SpectacularSwaggerSplitView delivers its start-up script as a separate
file, so script-src stays 'self'; Swagger UI's page carries an inline <style>, so that one view, and
no other, allows inline styles.
"""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from experts.api import ExpertViewSet, InvitationViewSet, ReviewRoundViewSet, ReviewTaskViewSet
from funding.api import (
    AgreementViewSet,
    BudgetAdjustmentViewSet,
    DisbursementViewSet,
    DueTrancheViewSet,
    RecoveryViewSet,
    RepaymentViewSet,
    SubsidyClaimViewSet,
)
from projects.api import ApplicationViewSet, CallViewSet
from projects.challenges.api import (
    BidViewSet,
    ChallengeProjectViewSet,
    ChallengeViewSet,
    NeedViewSet,
    OfficeChallengeViewSet,
)
from projects.checkpoints.api import AcceptanceViewSet, ExtensionViewSet, MidtermViewSet, TerminationProposalViewSet

app_name = "api"

router = DefaultRouter()
router.register("calls", CallViewSet, basename="call")
router.register("applications", ApplicationViewSet, basename="application")
router.register("expert/invitations", InvitationViewSet, basename="expert-invitation")
router.register("expert/reviews", ReviewTaskViewSet, basename="expert-review")
router.register("review-rounds", ReviewRoundViewSet, basename="review-round")
router.register("experts", ExpertViewSet, basename="expert")
router.register("challenges", ChallengeViewSet, basename="challenge")
router.register("my/needs", NeedViewSet, basename="my-need")
router.register("my/bids", BidViewSet, basename="my-bid")
router.register("office/challenges", OfficeChallengeViewSet, basename="office-challenge")
router.register("challenge-projects", ChallengeProjectViewSet, basename="challenge-project")
router.register("midterms", MidtermViewSet, basename="midterm")
router.register("acceptances", AcceptanceViewSet, basename="acceptance")
router.register("extensions", ExtensionViewSet, basename="extension")
router.register("termination-proposals", TerminationProposalViewSet, basename="termination-proposal")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("finance/due-tranches", DueTrancheViewSet, basename="due-tranche")
router.register("finance/disbursements", DisbursementViewSet, basename="disbursement")
router.register("recoveries", RecoveryViewSet, basename="recovery")
router.register("repayments", RepaymentViewSet, basename="repayment")
router.register("budget-adjustments", BudgetAdjustmentViewSet, basename="budget-adjustment")
router.register("subsidy-claims", SubsidyClaimViewSet, basename="subsidy-claim")

docs_view = csp_update({"style-src": [UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api:schema", title="科技项目管理系统 API")
)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs_view, name="docs"),
    path("", include(router.urls)),
]
