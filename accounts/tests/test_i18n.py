"""The UI speaks Chinese by default and English once the user switches, from a committed, complete catalogue."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.tests.factories import make_credit_code

pytestmark = pytest.mark.django_db

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]|%[sdfr]|\{\w*\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def switch_to_english(client, next_url="/"):
    response = client.post(reverse("set_language"), {"language": "en", "next": next_url})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    return response


def wrong_check_digit(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


# --- pages -----------------------------------------------------------------------------------------


def test_home_page_is_chinese_by_default(client, open_call):
    html = client.get(reverse("public:home")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "正在申报的指南" in html
    assert "申报流程" in html
    assert "Open calls for proposals" not in html


def test_set_language_switches_the_home_page_to_english(client, open_call):
    response = switch_to_english(client, next_url=reverse("public:home"))
    assert response.url == reverse("public:home")

    html = client.get(response.url).content.decode()
    assert '<html lang="en">' in html
    assert "Open calls for proposals" in html
    assert "How to apply" in html
    assert "Sci-Tech Project Management System" in html
    assert "正在申报的指南" not in html
    assert "申报流程" not in html
    # Data stays as entered: the call's own title is not translated.
    assert open_call.title in html


def test_switching_back_to_chinese(client):
    switch_to_english(client)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = client.get(reverse("public:home")).content.decode()
    assert "申报流程" in html
    assert "How to apply" not in html


def test_language_cookie_alone_gives_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("accounts:login")).content.decode()
    assert "User login" in html
    assert "用户登录" not in html


def test_english_browser_still_opens_in_chinese_until_the_user_switches(client):
    """Bureau PCs often run English-locale browsers: Accept-Language is ignored, only the switch counts."""
    english_browser = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
    html = client.get(reverse("accounts:login"), **english_browser).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "用户登录" in html

    switch_to_english(client)
    html = client.get(reverse("accounts:login"), **english_browser).content.decode()
    assert '<html lang="en">' in html
    assert "User login" in html


def test_login_page_and_its_error_in_english(client, applicant):
    switch_to_english(client)
    page = client.get(reverse("accounts:login")).content.decode()
    assert "User login" in page
    assert "Username" in page and "Password" in page
    assert "用户登录" not in page

    response = client.post(reverse("accounts:login"), {"username": applicant.username, "password": "wrong-password"})
    assert response.status_code == 200
    html = response.content.decode()
    limit = settings.AXES_FAILURE_LIMIT
    assert f"Incorrect username or password. After {limit} consecutive failed attempts" in html
    assert "用户名或密码错误" not in html


def test_registration_form_error_in_english(client):
    switch_to_english(client)
    page = client.get(reverse("accounts:register")).content.decode()
    assert "Applicant organisation registration" in page
    assert "Unified social credit code" in page

    bad_code = wrong_check_digit(make_credit_code())
    response = client.post(reverse("accounts:register"), {"name": "Test Co.", "credit_code": bad_code, "kind": "enterprise"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The unified social credit code has an invalid check digit. Please check the last character." in html
    assert "校验位错误" not in html


def test_registration_form_error_in_chinese_by_default(client):
    bad_code = wrong_check_digit(make_credit_code())
    response = client.post(reverse("accounts:register"), {"name": "测试公司", "credit_code": bad_code, "kind": "enterprise"})
    assert response.status_code == 200
    assert "统一社会信用代码校验位错误，请核对最后一位。" in response.content.decode()


def test_applicant_portal_state_badge_in_english(client, draft_app, applicant):
    client.force_login(applicant)
    switch_to_english(client)
    html = client.get(reverse("portal:application_list")).content.decode()
    assert draft_app.title in html
    assert "My applications" in html
    assert ">Draft<" in html
    assert ">草稿<" not in html


# --- the catalogue ---------------------------------------------------------------------------------


def parse_po(path: Path) -> list[dict]:
    """A small .po reader: each entry with its flags, msgid, msgid_plural and msgstr forms."""
    entries, entry, key = [], None, None

    def flush():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#~"):  # obsolete entries are not compiled
            continue
        if line.startswith("#"):
            if entry is not None and "msgid" in entry:
                flush()
                entry = None
            entry = entry or {"flags": set(), "msgstr": {}}
            if line.startswith("#,"):
                entry["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(key, int):
                entry["msgstr"][key] += value
            else:
                entry[key] += value
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid" and entry is not None and "msgid" in entry:
            flush()
            entry = None
        entry = entry or {"flags": set(), "msgstr": {}}
        value = ast.literal_eval(rest)
        if word.startswith("msgstr"):
            key = int(word[7:-1]) if word.startswith("msgstr[") else 0
            entry["msgstr"][key] = value
        else:
            key = word
            entry[word] = value
    flush()
    return entries


@pytest.fixture(scope="module")
def catalogue():
    entries = parse_po(PO_PATH)
    header = [e for e in entries if e["msgid"] == ""]
    assert len(header) == 1
    return header[0], [e for e in entries if e["msgid"] != ""]


def test_catalogue_has_no_untranslated_or_fuzzy_entries(catalogue):
    header, entries = catalogue
    assert len(entries) > 500
    assert "fuzzy" not in header["flags"]
    assert "Language: en" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["msgstr"][0]
    untranslated = [e["msgid"] for e in entries if not all(s.strip() for s in e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []
    plurals = [e for e in entries if "msgid_plural" in e]
    assert plurals and all(sorted(e["msgstr"]) == [0, 1] for e in plurals)


def test_translations_are_english_and_keep_every_placeholder(catalogue):
    _header, entries = catalogue
    still_chinese, broken = [], []
    for e in entries:
        wanted = sorted(PLACEHOLDER.findall(e["msgid"]))
        for text in e["msgstr"].values():
            if CJK.search(text):
                still_chinese.append(e["msgid"])
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                broken.append((e["msgid"], text))
    assert still_chinese == []
    assert broken == []


def test_compiled_catalogue_matches_the_po_file(catalogue):
    """The .mo is committed (a fresh machine has no msgfmt); it must be compiled from the current .po."""
    _header, entries = catalogue
    with MO_PATH.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)._catalog
    stale = []
    for e in entries:
        # entries with a context (pgettext) are compiled under "context\x04msgid"
        key = f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else e["msgid"]
        if "msgid_plural" in e:
            for i, text in e["msgstr"].items():
                if compiled.get((key, i)) != text:
                    stale.append(key)
        elif compiled.get(key) != e["msgstr"][0]:
            stale.append(key)
    assert stale == []
