"""``manage.py deadline_catalogue``: the Markdown catalogue of the registered deadline kinds, ``--check``, and
docs/deadlines.md kept equal to it."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from activity import deadlines
from activity.deadlines import ObligationKind, PolicyDefaults
from activity.management.commands.deadline_catalogue import render_catalogue

DOC = Path(settings.BASE_DIR) / "docs" / "deadlines.md"


class Reassign(ObligationKind):
    code = "catalogue_test_review"
    label = "专家评审意见提交|测试"
    owner_label = "评审专家"
    responsible_label = "业务处室"
    action_label = "改派其他专家"
    defaults = PolicyDefaults(windows=(3, 1), yellow_after_days=1, red_after_days=3, service_days=None,
                              auto_action=True, action_after_days=2)

    def act(self, pk, due_at, now):
        return True


class Silent(ObligationKind):
    code = "catalogue_test_endorse"
    label = "单位审核（测试）"
    owner_label = "单位管理员"
    responsible_label = ""
    defaults = PolicyDefaults(windows=(), remind_overdue=False, yellow_after_days=None, red_after_days=None,
                              service_days=5)


def run(*args) -> str:
    out = io.StringIO()
    call_command("deadline_catalogue", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_each_registered_kind_is_a_row_with_its_people_windows_levels_and_action(monkeypatch):
    monkeypatch.setitem(deadlines._REGISTRY, Reassign.code, Reassign())
    monkeypatch.setitem(deadlines._REGISTRY, Silent.code, Silent())
    text = run()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| 代码"))
    assert header == ("| 代码 | 期限事项 | 谁办（责任方） | 黄牌通知（上级责任） | 到期前提醒（天） | 逾期提醒 | "
                      "黄牌（逾期天数） | 红牌（逾期天数） | 办理时限（工作日） | 自动处理 |")
    assert ("| `catalogue_test_review` | 专家评审意见提交\\|测试 | 评审专家 | 业务处室 | 3, 1 | 是 | 1 | 3 | — | "
            "改派其他专家（逾期 2 天后，默认开启） |") in lines
    assert "| `catalogue_test_endorse` | 单位审核（测试） | 单位管理员 | — | — | 否 | — | — | 5 | — |" in lines
    # every registered kind, sorted by code, each exactly once
    codes = [line.split("`")[1] for line in lines if line.startswith("| `")]
    assert codes == sorted(deadlines.registry())
    assert "midterm_due" in codes


def test_the_output_is_chinese_whatever_the_active_language(monkeypatch):
    from django.utils import translation

    with translation.override("en"):
        assert run() == render_catalogue()
    assert "期限与督办" in render_catalogue()


def test_check_passes_on_an_equal_file_and_fails_on_a_stale_one(tmp_path, monkeypatch):
    good = tmp_path / "deadlines.md"
    good.write_text(run(), encoding="utf-8")
    assert "up to date" in run("--check", str(good))

    monkeypatch.setitem(deadlines._REGISTRY, Silent.code, Silent())  # a kind landed, the file was not regenerated
    with pytest.raises(CommandError) as e:
        run("--check", str(good))
    assert e.value.returncode == 1 and "out of date" in str(e.value)

    with pytest.raises(CommandError) as e:
        run("--check", str(tmp_path / "missing.md"))
    assert e.value.returncode == 1


def test_check_exit_status_from_the_shell(tmp_path):
    """The exit status CI sees (not just the exception): 1 when the file differs, 0 when equal."""
    import subprocess
    import sys

    stale = tmp_path / "stale.md"
    stale.write_text("# old\n", encoding="utf-8")
    cmd = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "deadline_catalogue", "--check"]
    result = subprocess.run([*cmd, str(stale)], capture_output=True, text=True, cwd=settings.BASE_DIR)
    assert result.returncode == 1 and "+| 代码" in result.stderr
    fresh = tmp_path / "fresh.md"
    fresh.write_text(render_catalogue(), encoding="utf-8")
    assert subprocess.run([*cmd, str(fresh)], capture_output=True, cwd=settings.BASE_DIR).returncode == 0


def test_docs_deadlines_md_is_the_command_output():
    """docs/deadlines.md is generated: when a kind is added or its defaults change, regenerate it with
    ``python manage.py deadline_catalogue > docs/deadlines.md``. The whole text is compared."""
    assert DOC.read_text(encoding="utf-8") == render_catalogue(), (
        "docs/deadlines.md is stale: python manage.py deadline_catalogue > docs/deadlines.md"
    )
