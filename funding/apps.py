from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundingConfig(AppConfig):
    name = "funding"
    verbose_name = _("经费拨付")

    def ready(self):
        from projects.hooks import register_agreement_terms

        from . import (
            obligations,  # noqa: F401  (registers the dated obligations with the sweeper)
            receivers,  # noqa: F401  (creates task agreements for new projects, marks tranches due)
        )
        from .budget import agreed_terms_of

        # the checkpoint reports (中期报告, 验收申请) measure against the 任务书's targets and budget
        register_agreement_terms(agreed_terms_of)
