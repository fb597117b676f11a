"""The bureau's pages for the pool, rounds and 立项 lists (namespace experts:, included from experts.urls)."""

from django.urls import path

from .views import officer, officer_rounds

urlpatterns = [
    path("pool/", officer.pool, name="pool"),
    path("pool/import/", officer.pool_import, name="pool_import"),
    path("pool/import/template/", officer.pool_import_template, name="pool_import_template"),
    path("pool/evaluation/", officer.pool_evaluation, name="pool_evaluation"),
    path("pool/evaluation.xlsx", officer.pool_evaluation_xlsx, name="pool_evaluation_xlsx"),
    path("pool/<int:pk>/", officer.expert_detail, name="expert_detail"),
    # review rounds, draws, conflicts, ranking and the 立项 list (views.officer_rounds)
    path("rounds/", officer_rounds.round_list, name="round_list"),
    path("rounds/new/", officer_rounds.round_create, name="round_create"),
    path("rounds/<int:pk>/", officer_rounds.round_detail, name="round_detail"),
    path("rounds/<int:pk>/edit/", officer_rounds.round_edit, name="round_edit"),
    path("rounds/<int:pk>/criteria/", officer_rounds.round_criteria, name="round_criteria"),
    path("rounds/<int:pk>/add-items/", officer_rounds.round_add_items, name="round_add_items"),
    path("rounds/<int:pk>/start/", officer_rounds.round_start, name="round_start"),
    path("rounds/<int:pk>/close/", officer_rounds.round_close, name="round_close"),
    path("rounds/<int:pk>/draw/", officer_rounds.round_draw, name="round_draw"),
    path("rounds/<int:pk>/draws/<int:draw_id>/verify/", officer_rounds.draw_verify, name="draw_verify"),
    path("rounds/<int:pk>/items/<int:item_id>/", officer_rounds.round_item, name="round_item"),
    path("rounds/<int:pk>/items/<int:item_id>/assign/", officer_rounds.round_assign, name="round_assign"),
    path("rounds/<int:pk>/assignments/<int:assignment_id>/reopen/", officer_rounds.assignment_reopen,
         name="assignment_reopen"),
    path("rounds/<int:pk>/conflicts/", officer_rounds.round_conflicts, name="round_conflicts"),
    path("rounds/<int:pk>/ranking/", officer_rounds.round_ranking, name="round_ranking"),
    path("rounds/<int:pk>/ranking.xlsx", officer_rounds.round_ranking_xlsx, name="round_ranking_xlsx"),
    path("rounds/<int:pk>/funding-list/", officer_rounds.funding_list, name="funding_list"),
    path("rounds/<int:pk>/funding-list.xlsx", officer_rounds.funding_list_xlsx, name="funding_list_xlsx"),
    path("rounds/<int:pk>/funding-list/build/", officer_rounds.funding_build, name="funding_build"),
    path("rounds/<int:pk>/funding-list/entries/<int:entry_id>/amount/", officer_rounds.funding_entry_amount,
         name="funding_entry_amount"),
    path("rounds/<int:pk>/funding-list/entries/<int:entry_id>/remove/", officer_rounds.funding_entry_remove,
         name="funding_entry_remove"),
    path("rounds/<int:pk>/funding-list/submit/", officer_rounds.funding_submit, name="funding_submit"),
    path("rounds/<int:pk>/funding-list/sign-off/", officer_rounds.funding_sign_off, name="funding_sign_off"),
    path("rounds/<int:pk>/funding-list/return/", officer_rounds.funding_return, name="funding_return"),
    path("rounds/<int:pk>/funding-list/publish/", officer_rounds.funding_publish, name="funding_publish"),
    path("rounds/<int:pk>/funding-list/objections/<int:objection_id>/resolve/", officer_rounds.objection_resolve,
         name="objection_resolve"),
    path("rounds/<int:pk>/funding-list/approve/", officer_rounds.funding_approve, name="funding_approve"),
]
