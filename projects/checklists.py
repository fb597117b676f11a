"""形式审查 checklist: data, not code. Accepting requires every item to pass."""

from django.utils.translation import gettext_lazy as _

FORMAL_REVIEW_CHECKLIST = [
    ("org_eligible", _("申报单位性质、资质符合指南要求")),
    ("integrity", _("申报单位及项目负责人无在惩戒期内的失信记录")),
    ("leader", _("项目负责人符合条件，无多头申报")),
    ("budget", _("预算编制规范：财政资金不超过上限，自筹比例达标")),
    ("attachments", _("附件齐全、清晰、有效，且与申报内容一致")),
    ("scope", _("申报内容符合指南支持方向")),
]
