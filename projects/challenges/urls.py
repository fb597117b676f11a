"""The enterprise portal's 揭榜挂帅 pages: the poster's needs, the bidder's bids, and the winners' projects."""

from django.urls import path

from .views import bidder, poster, project

app_name = "challenges"
urlpatterns = [
    # the poster (发榜单位)
    path("needs/", poster.need_list, name="needs"),
    path("needs/new/", poster.need_create, name="need_create"),
    path("needs/<int:pk>/", poster.need_detail, name="need_detail"),
    path("needs/<int:pk>/edit/<slug:step>/", poster.need_edit, name="need_edit"),
    path("needs/<int:pk>/submit/", poster.need_submit, name="need_submit"),
    path("needs/<int:pk>/withdraw/", poster.need_withdraw, name="need_withdraw"),
    path("needs/<int:pk>/award/", poster.need_award, name="need_award"),
    path("needs/<int:pk>/fail/", poster.need_fail, name="need_fail"),
    path("questions/<int:pk>/answer/", poster.question_answer, name="question_answer"),
    # the bidder (揭榜方)
    path("bids/", bidder.bid_list, name="bids"),
    path("challenges/<int:challenge_pk>/bid/", bidder.bid_create, name="bid_create"),
    path("bids/<int:pk>/", bidder.bid_detail, name="bid_detail"),
    path("bids/<int:pk>/edit/<slug:step>/", bidder.bid_edit, name="bid_edit"),
    path("bids/<int:pk>/submit/", bidder.bid_submit, name="bid_submit"),
    path("bids/<int:pk>/withdraw/", bidder.bid_withdraw, name="bid_withdraw"),
    # the winners' projects (the team and the poster)
    path("projects/<int:pk>/", project.project_detail, name="project"),
    path("milestones/<int:pk>/report/", project.milestone_report, name="milestone_report"),
    path("milestones/<int:pk>/judge/", project.milestone_judge, name="milestone_judge"),
    path("projects/<int:pk>/acceptance/", project.acceptance_apply, name="acceptance_apply"),
    path("projects/<int:pk>/acceptance/judge/", project.acceptance_judge, name="acceptance_judge"),
]
