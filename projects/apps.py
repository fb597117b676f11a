from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = _("计划与申报")

    def ready(self):
        from activity.selectors import register_visibility

        from . import obligations  # noqa: F401  (registers the dated obligations with the sweeper)
        from .challenges.selectors import bids_visible_to, challenges_visible_to
        from .checkpoints import obligations as checkpoint_obligations  # noqa: F401
        from .checkpoints.selectors import acceptances_visible_to, extensions_visible_to, midterms_visible_to
        from .models import AcceptanceReport, Application, Bid, Challenge, ExtensionRequest, MidtermReport
        from .selectors import applications_visible_to

        register_visibility(Application, applications_visible_to)
        register_visibility(Challenge, challenges_visible_to)
        register_visibility(Bid, bids_visible_to)
        register_visibility(MidtermReport, midterms_visible_to)
        register_visibility(AcceptanceReport, acceptances_visible_to)
        register_visibility(ExtensionRequest, extensions_visible_to)
