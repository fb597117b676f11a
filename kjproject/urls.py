from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("科技项目管理系统 · 管理后台")
admin.site.site_title = _("科技项目管理系统")
admin.site.index_title = _("业务管理")

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("inbox/", include("activity.urls")),
    path("api/", include("kjproject.api_urls")),
    path("portal/jiebang/", include("projects.challenges.urls")),
    path("portal/checkpoints/", include("projects.checkpoints.urls")),
    path("portal/", include("projects.urls")),
    path("office/jiebang/", include("projects.challenges.urls_office")),
    path("office/checkpoints/", include("projects.checkpoints.urls_office")),
    path("office/duban/", include("activity.urls_supervision")),
    path("jiebang/", include("projects.challenges.urls_public")),
    path("review/", include("experts.urls")),
    path("finance/", include("funding.urls")),
    path("gongshi/", include("experts.urls_public")),
    path("", include("projects.urls_public")),
]
