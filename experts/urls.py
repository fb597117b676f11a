from .urls_expert import urlpatterns as expert_urls
from .urls_officer import urlpatterns as officer_urls

app_name = "experts"
urlpatterns = expert_urls + officer_urls
