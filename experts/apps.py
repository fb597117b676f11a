from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpertsConfig(AppConfig):
    name = "experts"
    verbose_name = _("专家评审")

    def ready(self):
        # obligations: the dated obligations (invitations, reviews, 公示) the deadline sweeper reminds and
        # escalates; tasks: registered in every process (web too), services queue them by name after commit
        from . import obligations, tasks  # noqa: F401
