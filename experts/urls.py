from django.urls import path

from .views import expert, officer

app_name = "experts"
urlpatterns = [
    # expert portal
    path("", expert.dashboard, name="dashboard"),
    path("register/", expert.register, name="register"),
    path("profile/", expert.profile, name="profile"),
    path("invitations/", expert.invitations, name="invitations"),
    path("invitations/<int:pk>/", expert.invitation_detail, name="invitation"),
    path("tasks/<int:pk>/", expert.review, name="review"),
    path("history/", expert.history, name="history"),
    # officer pages
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
