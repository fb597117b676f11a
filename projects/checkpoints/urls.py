"""The organisation's checkpoint pages (企业门户): a project's 中期检查, 验收申请 and 延期申请."""

from django.urls import path

from .views import portal

app_name = "checkpoints"
urlpatterns = [
    path("project/<int:pk>/", portal.project_page, name="project"),
    path("midterm/<int:pk>/", portal.midterm_page, name="midterm"),
    path("acceptance/<int:pk>/", portal.acceptance_page, name="acceptance"),
    path("attachments/<int:pk>/", portal.attachment_download, name="attachment"),
    path("attachments/<int:pk>/remove/", portal.attachment_remove, name="attachment_remove"),
]
