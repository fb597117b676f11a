"""The bureau's 揭榜挂帅 pages: vetting and publishing, the 榜单 lifecycle, 答疑, 答辩, milestone checks, stopping
teams in 赛马制, final acceptance."""

from django.urls import path

from .views import office

app_name = "jiebang_office"
urlpatterns = [
    path("", office.challenge_list, name="list"),
    path("<int:pk>/", office.challenge_detail, name="detail"),
    path("<int:pk>/do/<slug:action>/", office.challenge_action, name="action"),
    path("<int:pk>/defence/", office.defence_scores, name="defence"),
    path("questions/<int:pk>/answer/", office.question_answer, name="question_answer"),
    path("questions/<int:pk>/dismiss/", office.question_dismiss, name="question_dismiss"),
    path("projects/<int:pk>/", office.project_detail, name="project"),
    path("milestones/<int:pk>/conclude/", office.milestone_conclude, name="milestone_conclude"),
    path("projects/<int:pk>/stop/", office.project_stop, name="project_stop"),
    path("projects/<int:pk>/acceptance/", office.acceptance_conclude, name="acceptance_conclude"),
]
