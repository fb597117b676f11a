from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = _("计划与申报")

    def ready(self):
        from activity.selectors import register_visibility

        from .challenges.selectors import bids_visible_to, challenges_visible_to
        from .models import Application, Bid, Challenge
        from .selectors import applications_visible_to

        register_visibility(Application, applications_visible_to)
        register_visibility(Challenge, challenges_visible_to)
        register_visibility(Bid, bids_visible_to)
