"""Run the deadline sweeper once, now or at a moment moved forward, and print what it did per kind.

Celery beat runs the same sweep every 15 minutes (task ``activity.sweep_deadlines``); this command is for people and
for the demo: "what would have been sent by then". What a sweep at a later moment sends is real (Reminder rows,
inbox messages, e-mails, 督办 items, automatic actions); ``--dry-run`` counts without keeping anything. The next
regular sweep resolves the 督办 items whose deadline has not really passed yet.

    python manage.py sweep_deadlines                        # now
    python manage.py sweep_deadlines --days 30              # as if 30 days had passed
    python manage.py sweep_deadlines --at "2026-12-24 09:00" --kind midterm_due acceptance_due
    python manage.py sweep_deadlines --days 10 --dry-run    # count only
"""

from __future__ import annotations

import datetime
import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from activity.deadlines import registry
from activity.selectors import escalation_counts
from activity.sweeper import SweepResult, sweep

FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
COLUMNS = (
    ("rows", "期限事项 rows"),
    ("reminders", "提醒 reminders"),
    ("escalations_opened", "督办新增 opened"),
    ("escalations_raised", "升级 raised"),
    ("resolved", "解除 resolved"),
    ("actions", "自动处理 actions"),
)


def parse_moment(text: str) -> datetime.datetime:
    """A local date and time ("YYYY-MM-DD HH:MM"; a date alone is its midnight), as an aware datetime."""
    for fmt in FORMATS:
        try:
            moment = datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        return timezone.make_aware(moment, timezone.get_current_timezone())
    raise CommandError(f"--at: 无法识别的时间 / unrecognised moment {text!r}（格式 format: YYYY-MM-DD HH:MM）")


class Command(BaseCommand):
    help = ("Run the deadline sweeper (reminders, 黄牌/红牌 督办, automatic actions) now or at a moment moved forward, "
            "and print the figures per kind.")

    def add_arguments(self, parser):
        when = parser.add_mutually_exclusive_group()
        when.add_argument("--at", metavar="YYYY-MM-DD HH:MM", help="Sweep as if it were this local time.")
        when.add_argument("--days", type=int, metavar="N", help="Sweep as if N days had passed (negative: earlier).")
        parser.add_argument("--kind", nargs="+", action="extend", metavar="CODE", dest="kinds",
                            help="Only these obligation kinds (codes as in the admin's 期限提醒规则).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be done; keep nothing.")

    def handle(self, *args, at=None, days=None, kinds=None, dry_run=False, **options):
        known = registry()
        if kinds:
            unknown = sorted(set(kinds) - set(known))
            if unknown:
                raise CommandError(f"未知的期限类型 / unknown kind: {', '.join(unknown)}；"
                                   f"可用 / available: {', '.join(sorted(known)) or '-'}")
        codes = [code for code in known if not kinds or code in kinds]
        real_now = timezone.now()
        if at:
            now = parse_moment(at)
        elif days:
            now = real_now + datetime.timedelta(days=days)
        else:
            now = real_now

        results: dict[str, SweepResult] = {}
        sweeper_log = logging.getLogger("activity.sweeper")
        level = sweeper_log.level
        if options.get("verbosity", 1) < 2:
            sweeper_log.setLevel(logging.WARNING)  # the table below says it all, once per kind
        try:
            with transaction.atomic():
                for code in codes:
                    results[code] = sweep(now=now, kinds=[code])
                counts = escalation_counts()
                if dry_run:
                    transaction.set_rollback(True)
        finally:
            sweeper_log.setLevel(level)
        self.report(now, real_now, known, results, counts, dry_run)

    def report(self, now, real_now, known, results, counts, dry_run) -> None:
        out = self.stdout
        shift = now - real_now
        moved = f"（{shift.days:+d} 天 days）" if abs(shift) >= datetime.timedelta(minutes=1) else "（现在 now）"
        out.write(f"期限扫描 deadline sweep @ {timezone.localtime(now):%Y-%m-%d %H:%M} {moved}"
                  + ("  [dry-run: 未保存 nothing kept]" if dry_run else ""))
        if not results:
            out.write("没有登记的期限类型 / no obligation kinds registered.")
            return
        width = max(len(code) for code in results)
        out.write(f"{'kind':<{width}}  " + "  ".join(label for _key, label in COLUMNS) + "  期限类型 label")
        total = {key: 0 for key, _label in COLUMNS}
        for code, result in results.items():
            figures = result.as_dict()
            for key in total:
                total[key] += figures[key]
            if not result.kinds:
                cells = "已停用 disabled".ljust(sum(len(label) + 2 for _key, label in COLUMNS) - 2)
            else:
                cells = "  ".join(f"{figures[key]:>{len(label)}}" for key, label in COLUMNS)
            out.write(f"{code:<{width}}  {cells}  {known[code].label}")
        out.write(f"{'total':<{width}}  " + "  ".join(f"{total[key]:>{len(label)}}" for key, label in COLUMNS)
                  + "  合计")
        out.write(f"督办 open items: 红牌 red {counts['red']} · 黄牌 yellow {counts['yellow']} · "
                  f"逾期 overdue {counts['overdue']}  (/office/duban/)")
        if now > real_now + datetime.timedelta(minutes=1) and not dry_run and total["reminders"]:
            out.write(self.style.WARNING(
                "注意 note: 时间前移后发出的提醒和督办已写入（站内消息、邮件）；下一次定时扫描会解除尚未真正逾期的督办事项。"
                " What was sent for the later moment is kept; the next regular sweep resolves items not yet overdue."))
