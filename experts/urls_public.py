from django.urls import path

from .views import public

app_name = "gongshi"
urlpatterns = [
    path("", public.funding_list_index, name="index"),
    path("<int:pk>/", public.funding_list_detail, name="detail"),
]
