"""Print the catalogue of dated obligations (期限类型) the sweeper knows, as a Markdown table.

Each app registers its kinds (activity.deadlines.register); this lists them with who owes each one, who is
responsible above (黄牌), the default reminder windows and escalation intervals, the 办理时限 and the automatic
action. ``docs/deadlines.md`` is this output; ``--check`` tells when it is stale.

    python manage.py deadline_catalogue > docs/deadlines.md
    python manage.py deadline_catalogue --check docs/deadlines.md     # exit status 1 when it differs
"""

from __future__ import annotations

import difflib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from activity.deadlines import ObligationKind, registry

DASH = "—"


def _cell(value) -> str:
    text = str(value or "").strip() or DASH
    return text.replace("|", "\\|").replace("\n", " ")


def _days(value) -> str:
    return DASH if value is None else str(value)


def _action(kind: ObligationKind) -> str:
    if not kind.can_act:
        return DASH
    d = kind.defaults
    state = _("默认开启") if d.auto_action else _("默认关闭")
    action = kind.action_label or _("自动处理")
    if not d.action_after_days:
        return _("%(action)s（逾期即处理，%(state)s）") % {"action": action, "state": state}
    return _("%(action)s（逾期 %(n)s 天后，%(state)s）") % {"action": action, "n": d.action_after_days, "state": state}


def render_catalogue(kinds: dict[str, ObligationKind] | None = None) -> str:
    """The Markdown text (ends with a newline), in the site's language whatever the shell's locale."""
    kinds = registry() if kinds is None else kinds
    with translation.override(settings.LANGUAGE_CODE):
        head = [
            _("代码"), _("期限事项"), _("谁办（责任方）"), _("黄牌通知（上级责任）"), _("到期前提醒（天）"),
            _("逾期提醒"), _("黄牌（逾期天数）"), _("红牌（逾期天数）"), _("办理时限（工作日）"), _("自动处理"),
        ]
        lines = [
            "<!-- " + _("由 python manage.py deadline_catalogue 生成，请勿手工修改") + " -->",
            "",
            "# " + _("期限与督办：期限类型一览"),
            "",
            _("系统每 15 分钟扫描一次下列期限：到期前按提醒天数提醒责任方；逾期后提醒责任方，逾期达到黄牌天数通知"
              "业务处室和单位管理员（黄牌），达到红牌天数报局领导督办（红牌，见“督办”页面）；有自动处理的事项在规定"
              "天数后由系统处理。下表为默认设置，管理后台“期限提醒设置”可逐类调整。"),
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---" for _h in head) + "|",
        ]
        for code in sorted(kinds):
            kind = kinds[code]
            d = kind.defaults
            row = [
                f"`{code}`", kind.label, kind.owner_label, kind.responsible_label,
                ", ".join(str(n) for n in d.windows) if d.windows else DASH,
                _("是") if d.remind_overdue else _("否"),
                _days(d.yellow_after_days), _days(d.red_after_days), _days(d.service_days), _action(kind),
            ]
            lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
        if not kinds:
            lines.append("| " + " | ".join([_("（没有登记的期限类型）")] + [DASH] * (len(head) - 1)) + " |")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = ("Print the catalogue of registered deadline kinds (期限类型) as a Markdown table; "
            "--check FILE exits 1 when FILE differs.")

    def add_arguments(self, parser):
        parser.add_argument("--check", metavar="FILE",
                            help="Compare FILE with the catalogue; exit status 1 (and a diff) when it differs.")

    def handle(self, *args, check=None, **options):
        text = render_catalogue()
        if not check:
            self.stdout.write(text, ending="")
            return
        path = Path(check)
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as e:
            raise CommandError(f"{check}: {e.strerror or e}", returncode=1) from None
        if current == text:
            self.stdout.write(f"{check}: up to date ({len(registry())} kinds)")
            return
        diff = difflib.unified_diff(current.splitlines(keepends=True), text.splitlines(keepends=True),
                                    fromfile=str(check), tofile="deadline_catalogue")
        self.stderr.write("".join(diff), ending="")
        raise CommandError(f"{check} is out of date: python manage.py deadline_catalogue > {check}", returncode=1)
