from django.urls import path

from .views import applicant, review

app_name = "portal"
urlpatterns = [
    # enterprise portal (applicant)
    path("", applicant.dashboard, name="dashboard"),
    path("applications/", applicant.application_list, name="application_list"),
    path("calls/<int:call_pk>/apply/", applicant.application_create, name="application_create"),
    path("applications/<int:pk>/", applicant.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/<slug:step>/", applicant.application_edit, name="application_edit"),
    path("applications/<int:pk>/submit/", applicant.application_submit, name="application_submit"),
    path("applications/<int:pk>/withdraw/", applicant.application_withdraw, name="application_withdraw"),
    path("projects/", applicant.project_list, name="project_list"),
    path("attachments/<int:pk>/", applicant.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/remove/", applicant.attachment_remove, name="attachment_remove"),
    # 单位审核 (org admin)
    path("endorsements/", review.endorsement_queue, name="endorsement_queue"),
    path("endorsements/<int:pk>/", review.endorsement_decide, name="endorsement_decide"),
    # 形式审查 (officer)
    path("formal-review/", review.formal_review_queue, name="review_queue"),
    path("formal-review/batch/", review.formal_review_batch, name="review_batch"),
    path("formal-review/<int:pk>/", review.formal_review_detail, name="review_detail"),
]
