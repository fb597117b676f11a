"""The expert portal (namespace experts:, included from experts.urls)."""

from django.urls import path

from .views import expert

urlpatterns = [
    path("", expert.dashboard, name="dashboard"),
    path("register/", expert.register, name="register"),
    path("profile/", expert.profile, name="profile"),
    path("profile/unavailability/", expert.unavailability_add, name="unavailability_add"),
    path("profile/unavailability/<int:pk>/remove/", expert.unavailability_remove, name="unavailability_remove"),
    path("profile/relations/", expert.relation_add, name="relation_add"),
    path("profile/relations/<int:pk>/withdraw/", expert.relation_withdraw, name="relation_withdraw"),
    path("invitations/", expert.invitations, name="invitations"),
    path("invitations/<int:pk>/", expert.invitation_detail, name="invitation"),
    path("tasks/<int:pk>/", expert.review, name="review"),
    path("tasks/<int:pk>/attachments/<int:attachment_pk>/", expert.review_attachment, name="review_attachment"),
    path("tasks/<int:pk>/report-files/<int:attachment_pk>/", expert.review_checkpoint_attachment,
         name="review_checkpoint_attachment"),
    path("history/", expert.history, name="history"),
]
