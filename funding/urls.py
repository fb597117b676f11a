"""Pages of 任务书 and the money: the agreement (organisation, officer, finance), the finance desk (due tranches,
recording, the approval queue, reversals) and the ledger."""

from django.urls import path

from .views import agreements, budget, exports, finance, recovery, subsidy

app_name = "funding"
urlpatterns = [
    # 任务书: the organisation's admin and users, the officer, finance, the supervisor
    path("agreements/", agreements.agreement_list, name="agreements"),
    path("agreements/<int:pk>/", agreements.agreement_detail, name="agreement"),
    path("agreements/<int:pk>/print/", agreements.agreement_print, name="agreement_print"),
    path("agreements/<int:pk>/edit/", agreements.agreement_edit, name="agreement_edit"),
    path("agreements/<int:pk>/tranches/", agreements.agreement_tranches, name="agreement_tranches"),
    path("agreements/<int:pk>/confirm/", agreements.agreement_confirm, name="agreement_confirm"),
    # 终止 and 追回
    path("agreements/<int:pk>/terminate/", recovery.agreement_terminate, name="agreement_terminate"),
    path("agreements/<int:pk>/recovery/new/", recovery.recovery_create, name="recovery_create"),
    path("recoveries/", recovery.recovery_list, name="recoveries"),
    path("recoveries/<int:pk>/", recovery.recovery_detail, name="recovery"),
    path("recoveries/<int:pk>/repay/", recovery.repayment_record, name="repayment_record"),
    path("repayments/<int:pk>/approve/", recovery.repayment_approve, name="repayment_approve"),
    path("repayments/<int:pk>/reject/", recovery.repayment_reject, name="repayment_reject"),
    path("projects/<int:pk>/draft-agreement/", agreements.draft_for_project, name="draft"),
    # 预算调整
    path("agreements/<int:pk>/budget/adjust/", budget.adjustment_create, name="adjustment_create"),
    path("budget-adjustments/", budget.adjustment_list, name="adjustments"),
    path("budget-adjustments/<int:pk>/", budget.adjustment_detail, name="adjustment"),
    path("budget-adjustments/<int:pk>/approve/", budget.adjustment_approve, name="adjustment_approve"),
    path("budget-adjustments/<int:pk>/reject/", budget.adjustment_reject, name="adjustment_reject"),
    # 后补助
    path("agreements/<int:pk>/subsidy/claim/", subsidy.claim_submit, name="subsidy_submit"),
    path("subsidy-claims/", subsidy.claim_list, name="subsidy_claims"),
    path("subsidy-claims/<int:pk>/", subsidy.claim_detail, name="subsidy_claim"),
    path("subsidy-claims/<int:pk>/verify/", subsidy.claim_verify, name="subsidy_verify"),
    path("subsidy-claims/<int:pk>/return/", subsidy.claim_return, name="subsidy_return"),
    path("subsidy-claims/<int:pk>/report/", subsidy.claim_report, name="subsidy_report"),
    # the finance desk
    path("due/", finance.due_tranches, name="due"),
    path("tranches/<int:pk>/record/", finance.record, name="record"),
    path("queue/", finance.approval_queue, name="queue"),
    path("disbursements/<int:pk>/approve/", finance.approve, name="approve"),
    path("disbursements/<int:pk>/reject/", finance.reject, name="reject"),
    path("disbursements/<int:pk>/reverse/", finance.reverse_payment, name="reverse"),
    path("ledger/", finance.ledger, name="ledger"),
    path("ledger.xlsx", exports.ledger_xlsx, name="ledger_xlsx"),
    path("disbursements.xlsx", exports.disbursements_xlsx, name="disbursements_xlsx"),
]
