from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundingConfig(AppConfig):
    name = "funding"
    verbose_name = _("经费拨付")

    def ready(self):
        from . import receivers  # noqa: F401  (creates task agreements for new projects, marks tranches due)
