"""The bureau's checkpoint pages: the lists, opening 中期检查, conclusions, extensions, termination proposals."""

from django.urls import path

from .views import office, office_proposals

app_name = "checkpoints_office"
urlpatterns = [
    path("", office.index, name="index"),
    path("open/", office.open_midterm, name="open_midterm"),
    path("midterm/<int:pk>/", office.midterm, name="midterm"),
    path("acceptance/<int:pk>/", office.acceptance, name="acceptance"),
    path("extension/<int:pk>/", office.extension, name="extension"),
    path("attachments/<int:pk>/", office.attachment, name="attachment"),
    path("termination/<int:pk>/", office_proposals.termination, name="termination"),
]
