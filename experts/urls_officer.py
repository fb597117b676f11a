"""The bureau's pages for the pool, rounds and 立项 lists (namespace experts:, included from experts.urls)."""

from django.urls import path

from .views import officer

urlpatterns = [
    path("pool/", officer.pool, name="pool"),
    path("pool/import/", officer.pool_import, name="pool_import"),
    path("pool/<int:pk>/", officer.expert_detail, name="expert_detail"),
    path("rounds/", officer.round_list, name="round_list"),
    path("rounds/new/", officer.round_create, name="round_create"),
    path("rounds/<int:pk>/", officer.round_detail, name="round_detail"),
    path("rounds/<int:pk>/conflicts/", officer.round_conflicts, name="round_conflicts"),
    path("rounds/<int:pk>/ranking/", officer.round_ranking, name="round_ranking"),
    path("rounds/<int:pk>/funding-list/", officer.funding_list, name="funding_list"),
]
