from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivityConfig(AppConfig):
    name = "activity"
    verbose_name = _("审计与通知")

    def ready(self):
        from accounts.workflow import register_audit_recorder, register_history_provider

        from . import receivers  # noqa: F401  (connects to accounts' signals)
        from .selectors import history
        from .services import record_audit_event

        register_audit_recorder(record_audit_event)
        register_history_provider(history)
