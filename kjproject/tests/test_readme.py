"""The README is part of the deliverable: its Quick start and its settings table must stay true."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_quick_start_is_exactly_the_run_and_test_commands():
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", section("Quick start"), re.S)
    assert len(blocks) == 1
    commands = [line.strip() for line in blocks[0].splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands == ["./scripts/run", "./scripts/test"]
    for command in commands:
        path = ROOT / command
        assert path.is_file() and os.access(path, os.X_OK), command


def test_every_environment_setting_is_in_the_settings_table():
    names = set()
    for module in ("settings.py", "settings_test.py"):
        source = (ROOT / "kjproject" / module).read_text(encoding="utf-8")
        names |= set(re.findall(r"\.(?:str|bool|int|list|db|float|url)\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECURE_DEPLOY", "KJ_VAR_DIR", "REQUIRE_SERVICES"} <= names
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", section("Settings"), re.M))
    assert names - documented == set(), "settings read from the environment but not documented in README"


def test_readme_demo_password_is_the_seeded_one():
    from demo.management.commands.seed_demo import DEMO_PASSWORD, STAFF

    assert f"`{DEMO_PASSWORD}`" in section("Demo logins")
    for username, *_rest in STAFF:
        assert f"`{username}`" in section("Demo logins")
