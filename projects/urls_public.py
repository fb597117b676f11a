from django.urls import path

from .views import public

app_name = "public"
urlpatterns = [
    path("", public.home, name="home"),
    path("calls/", public.call_list, name="call_list"),
    path("calls/<int:pk>/", public.call_detail, name="call_detail"),
    path("calls/documents/<int:pk>/", public.call_document, name="call_document"),
]
