from django.urls import path

from . import views_supervision

app_name = "supervision"
urlpatterns = [
    path("", views_supervision.board, name="board"),
]
