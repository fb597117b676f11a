"""The expert portal (namespace experts:, included from experts.urls)."""

from django.urls import path

from .views import expert

urlpatterns = [
    path("", expert.dashboard, name="dashboard"),
    path("register/", expert.register, name="register"),
    path("profile/", expert.profile, name="profile"),
    path("invitations/", expert.invitations, name="invitations"),
    path("invitations/<int:pk>/", expert.invitation_detail, name="invitation"),
    path("tasks/<int:pk>/", expert.review, name="review"),
    path("history/", expert.history, name="history"),
]
