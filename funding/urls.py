"""Pages of 任务书 and the money: the agreement (organisation, officer, finance), the finance desk (due tranches,
recording, the approval queue, reversals) and the ledger."""

from django.urls import path

from .views import agreements, exports, finance, recovery

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
