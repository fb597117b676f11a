from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpertsConfig(AppConfig):
    name = "experts"
    verbose_name = _("专家评审")

    def ready(self):
        # register the tasks in every process (web too): services queue them by name after commit
        from . import tasks  # noqa: F401
