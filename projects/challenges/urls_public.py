"""The public 榜单 (no login needed to read; asking a question needs an organisation's account)."""

from django.urls import path

from .views import public

app_name = "jiebang"
urlpatterns = [
    path("", public.challenge_list, name="list"),
    path("<int:pk>/", public.challenge_detail, name="detail"),
    path("<int:pk>/ask/", public.ask, name="ask"),
]
