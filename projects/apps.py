from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = _("计划与申报")

    def ready(self):
        from activity.selectors import register_visibility

        from .models import Application
        from .selectors import applications_visible_to

        register_visibility(Application, applications_visible_to)
