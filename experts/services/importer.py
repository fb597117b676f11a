"""专家批量导入: an officer uploads an Excel sheet (.xlsx) of experts; every good row becomes an active expert
with an account, every bad row is reported with its reasons, and nothing of a bad row is written.

The sheet has one header row; columns are found by their header text (order does not matter, unknown
columns are ignored). Each row is written in its own savepoint inside one transaction, so good rows land
whatever the others do. Imported accounts have no password: each expert receives a one-time link to set
one (``send_login_link``), which an officer can send again from the expert's page.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import NamedTuple

import filetype
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from stdnum.cn import ric

from accounts.exceptions import DomainError, InvalidInput, PermissionRefused
from accounts.models import Organization
from accounts.roles import Role
from accounts.validators import normalize_credit_code, normalize_id_number, validate_credit_code
from accounts.workflow import record_audit
from activity.messaging import MessageKind
from activity.services import notify

from ..models import Expert
from .pool import clean_discipline_codes

User = get_user_model()

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
#: a 5 MB .xlsx that inflates beyond this is refused before it is parsed (zip bomb)
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
DEFAULT_CAP = 10


class Column(NamedTuple):
    key: str
    header: str  # the template's header text (Chinese source string)
    required: bool  # must the cell be filled? (a column of optional cells may be left out altogether)
    aliases: tuple[str, ...] = ()


COLUMNS = (
    Column("name", "姓名", True),
    Column("id_number", "证件号码", True, ("身份证号", "身份证号码", "证件号")),
    Column("phone", "手机号码", False, ("手机", "手机号", "联系电话")),
    Column("email", "邮箱", True, ("电子邮箱", "电子邮件", "email", "e-mail")),
    Column("workplace", "工作单位", True, ("单位", "单位名称")),
    Column("workplace_credit_code", "统一社会信用代码", False, ("工作单位统一社会信用代码", "单位统一社会信用代码")),
    Column("title", "职称", True),
    Column("title_level", "职称级别", True),
    Column("discipline_codes", "学科代码", True),
    Column("keywords", "关键词", False, ("研究方向关键词", "研究方向")),
    Column("region", "所在地区", False, ("地区",)),
    Column("annual_cap", "年度评审上限", False, ("评审上限",)),
)

#: 职称级别 as written in the sheet (the Chinese labels, short forms and the stored values)
TITLE_LEVELS = {
    "正高级": Expert.TitleLevel.SENIOR, "正高": Expert.TitleLevel.SENIOR,
    "副高级": Expert.TitleLevel.VICE_SENIOR, "副高": Expert.TitleLevel.VICE_SENIOR,
    "中级": Expert.TitleLevel.INTERMEDIATE,
    "其他": Expert.TitleLevel.OTHER, "其它": Expert.TitleLevel.OTHER,
    **{v: v for v in Expert.TitleLevel.values},
}

#: the template's example row; left in the sheet by mistake it is skipped, never imported
EXAMPLE = {
    "name": "张三", "id_number": "11010519491231002X", "phone": "13800000000", "email": "zhangsan@example.com",
    "workplace": "某某大学", "workplace_credit_code": "", "title": "教授", "title_level": "正高级",
    "discipline_codes": "520.20，520.60", "keywords": "人工智能，机器视觉", "region": "杭州市",
    "annual_cap": "10",
}

MAX_LENGTHS = {"name": 50, "workplace": 200, "title": 50, "keywords": 300, "region": 100, "phone": 30, "email": 254}
MOBILE = re.compile(r"1[3-9]\d{9}")
ID_FORMAT = re.compile(r"[0-9A-Z()（）\-]{5,30}")


class ImportRow(NamedTuple):
    row_number: int  # as Excel numbers it (the header is row 1)
    ok: bool
    name: str
    messages: list[str]


@dataclass
class ImportReport:
    filename: str = ""
    rows: list[ImportRow] = field(default_factory=list)
    expert_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def refused(self) -> int:
        return self.total - self.created


# ---- reading the sheet --------------------------------------------------------------------------------


def _header_key(text) -> str:
    """“学科代码（可填多个）*” → “学科代码”; case and spaces ignored."""
    text = re.sub(r"[（(].*?[）)]", "", str(text or ""))
    return re.sub(r"[\s*＊:：]", "", text).lower()


HEADER_INDEX = {_header_key(alias): col for col in COLUMNS for alias in (col.header, *col.aliases)}


def _cell_text(value) -> tuple[str, bool]:
    """A cell as text, and whether Excel stored it as a number."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else str(value)), True
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat(), False
    return str(value).strip(), False


def _check_file(uploaded) -> bytes:
    size = uploaded.size or 0
    if not size:
        raise InvalidInput(_("文件为空，请重新选择。"))
    if size > MAX_BYTES:
        raise InvalidInput(_("文件大小 %(size).1f MB 超过上限 %(max).0f MB，请分批导入。")
                           % {"size": size / 1048576, "max": MAX_BYTES / 1048576})
    uploaded.seek(0)
    content = uploaded.read()
    kind = filetype.guess(content[:8192])
    if kind is None or kind.extension != "xlsx":
        detected = kind.extension if kind is not None else _("无法识别")
        raise InvalidInput(_("只能导入 Excel 2007 及以上版本的 .xlsx 文件（按内容识别为：%(kind)s）。"
                             "如为 .xls 或 .csv，请在 Excel 中“另存为” .xlsx 后再上传。") % {"kind": detected})
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            inflated = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile:
        raise InvalidInput(_("Excel 文件已损坏，无法读取。")) from None
    if inflated > MAX_UNCOMPRESSED_BYTES:
        raise InvalidInput(_("Excel 文件内容过大，请分批导入（每次不超过 %(n)d 行）。") % {"n": MAX_ROWS})
    return content


def _read_rows(content: bytes) -> list[tuple[int, dict[str, tuple[str, bool]]]]:
    """The data rows of the first sheet as (row number, {column key: (text, was a number)}); blank rows skipped."""
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors…)
        raise InvalidInput(_("Excel 文件已损坏或格式不正确，无法读取。")) from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise InvalidInput(_("Excel 文件中没有工作表。"))
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InvalidInput(_("工作表是空的：第一行应为表头（姓名、证件号码……）。"))
        positions: dict[str, int] = {}
        for i, text in enumerate(header):
            col = HEADER_INDEX.get(_header_key(text))
            if col is None:
                continue
            if col.key in positions:
                raise InvalidInput(_("表头“%(h)s”出现了不止一次。") % {"h": col.header})
            positions[col.key] = i
        missing = [c.header for c in COLUMNS if c.required and c.key not in positions]
        if missing:
            raise InvalidInput(_("表头缺少以下列：%(cols)s。请使用导入模板。") % {"cols": "、".join(missing)})
        out = []
        # only the columns we use: a sheet with a far-right cell would otherwise pad every row to that width
        rows = ws.iter_rows(min_row=2, max_col=max(positions.values()) + 1, values_only=True)
        for number, values in enumerate(rows, start=2):
            cells = {key: _cell_text(values[i] if i < len(values) else None) for key, i in positions.items()}
            if not any(text for text, _num in cells.values()):
                continue
            if len(out) >= MAX_ROWS:
                raise InvalidInput(_("一次最多导入 %(n)d 行，请分批导入。") % {"n": MAX_ROWS})
            out.append((number, cells))
    except InvalidInput:
        raise
    except Exception:  # read-only mode parses the sheet only now: broken XML, bad cell references or values…
        raise InvalidInput(_("Excel 文件已损坏或格式不正确，无法读取。")) from None
    finally:
        wb.close()
    if not out:
        raise InvalidInput(_("表中没有专家数据（表头以下全是空行）。"))
    return out


# ---- checking one row ---------------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    data: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    username: str = ""
    example: bool = False


def _check_id_number(text: str, was_number: bool) -> tuple[str, list[str]]:
    value = normalize_id_number(text)
    if not ID_FORMAT.fullmatch(value):
        return value, [_("证件号码格式不正确。")]
    if re.fullmatch(r"\d{15,18}|\d{17}X", value):  # a 居民身份证号码
        hint = _("（Excel 以数字格式保存长号码会改变末几位，请把该列设为文本格式）") if was_number else ""
        if len(value) != 18:
            return value, [_("居民身份证号码应为18位。") + hint]
        # check digit (GB 11643) and birth date; not the region code, which stdnum's list may not know
        if value[-1] != ric.calc_check_digit(value):
            return value, [_("居民身份证号码校验位错误，请核对最后一位。") + hint]
        try:
            ric.get_birth_date(value)
        except ric.ValidationError:
            return value, [_("居民身份证号码中的出生日期不存在。") + hint]
    return value, []


def _check_row(number: int, cells: dict) -> _Row:
    row = _Row(number)
    text = {k: v[0] for k, v in cells.items()}
    msgs = row.messages
    for col in COLUMNS:
        if col.required and not text.get(col.key):
            msgs.append(_("“%(h)s”不能为空。") % {"h": col.header})
    d = row.data
    d["name"] = " ".join(text.get("name", "").split())
    if text.get("id_number"):
        d["id_number"], problems = _check_id_number(text["id_number"], cells["id_number"][1])
        msgs.extend(problems)
    phone = re.sub(r"[\s\-]", "", text.get("phone", ""))
    phone = re.sub(r"^(\+?86)(?=1\d{10}$)", "", phone)
    if phone and not MOBILE.fullmatch(phone):
        msgs.append(_("手机号码“%(v)s”格式不正确，应为11位手机号码。") % {"v": phone})
    d["phone"] = phone
    email = text.get("email", "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            msgs.append(_("邮箱“%(v)s”格式不正确。") % {"v": email})
    d["email"] = email
    d["workplace"] = " ".join(text.get("workplace", "").split())
    code = normalize_credit_code(text.get("workplace_credit_code", ""))
    if code:
        try:
            validate_credit_code(code)
        except ValidationError as e:
            msgs.extend(e.messages)
    d["workplace_credit_code"] = code
    d["title"] = " ".join(text.get("title", "").split())
    level = text.get("title_level", "").replace(" ", "")
    if level:
        labels = {str(label): value for value, label in Expert.TitleLevel.choices}  # in the active language
        d["title_level"] = TITLE_LEVELS.get(level) or labels.get(level)
        if d["title_level"] is None:
            msgs.append(_("职称级别“%(v)s”无效，应为正高级、副高级、中级或其他。") % {"v": level})
    if text.get("discipline_codes"):
        try:
            d["discipline_codes"] = clean_discipline_codes(text["discipline_codes"])
        except DomainError as e:
            msgs.extend(e.messages)
    d["keywords"] = " ".join(text.get("keywords", "").split())
    d["region"] = " ".join(text.get("region", "").split())
    cap = text.get("annual_cap", "")
    if not cap:
        d["annual_cap"] = DEFAULT_CAP
    elif cap.isdigit() and 1 <= int(cap) <= 500:
        d["annual_cap"] = int(cap)
    else:
        msgs.append(_("年度评审上限“%(v)s”无效，应为1至500之间的整数。") % {"v": cap})
    for key, limit in MAX_LENGTHS.items():
        if len(d.get(key) or "") > limit:
            header = next(c.header for c in COLUMNS if c.key == key)
            msgs.append(_("“%(h)s”最多 %(n)d 个字符。") % {"h": header, "n": limit})
    row.username = phone or email
    if row.username and not msgs:
        try:
            User._meta.get_field("username").run_validators(row.username)
        except ValidationError:
            msgs.append(_("无法用“%(v)s”作为登录账号，请核对手机号码和邮箱。") % {"v": row.username})
    row.example = d.get("id_number") == EXAMPLE["id_number"] and d["name"] == EXAMPLE["name"]
    return row


def _refuse_duplicates(rows: list[_Row]) -> None:
    """Duplicates within the file (the first occurrence wins) and against the pool and the accounts."""
    ids = {r.data["id_number"] for r in rows if r.data.get("id_number")}
    in_pool = set(Expert.objects.filter(id_number__in=ids).values_list("id_number", flat=True))
    usernames = {r.username.lower() for r in rows if r.username}
    taken_usernames = set(User.objects.annotate(u=Lower("username")).filter(u__in=usernames)
                          .values_list("u", flat=True))
    emails = {r.data["email"].lower() for r in rows if r.data.get("email")}
    taken_emails = set(User.objects.annotate(e=Lower("email")).filter(e__in=emails).values_list("e", flat=True))
    first_id, first_login, first_email = {}, {}, {}
    for r in rows:
        if r.example:
            continue
        id_number, username, email = r.data.get("id_number"), r.username.lower(), r.data.get("email", "").lower()
        if id_number:
            if id_number in in_pool:
                r.messages.append(_("证件号码已在专家库中。"))
            elif id_number in first_id:
                r.messages.append(_("证件号码与第 %(n)d 行重复。") % {"n": first_id[id_number]})
            first_id.setdefault(id_number, r.number)
        if username and username != email:
            if username in taken_usernames:
                r.messages.append(_("手机号码“%(v)s”已被其他账号用作登录名。") % {"v": r.username})
            elif username in first_login:
                r.messages.append(_("手机号码与第 %(n)d 行重复。") % {"n": first_login[username]})
            first_login.setdefault(username, r.number)
        if email:
            if email in taken_emails or email in taken_usernames:
                r.messages.append(_("邮箱“%(v)s”已被其他账号使用；如本人已有账号，请用该账号登记为专家。")
                                  % {"v": r.data["email"]})
            elif email in first_email:
                r.messages.append(_("邮箱与第 %(n)d 行重复。") % {"n": first_email[email]})
            first_email.setdefault(email, r.number)


# ---- writing ------------------------------------------------------------------------------------------


def send_login_link(*, actor, expert_id: int) -> None:
    """Send the expert a one-time link to set their password (imported accounts have none)."""
    if actor is None or not actor.has_perm("experts.manage_pool"):
        raise PermissionRefused(_("只有科技局业务人员可以管理专家库。"))
    expert = Expert.objects.select_related("user").get(pk=expert_id)
    user = expert.user
    if user.has_usable_password():
        raise InvalidInput(_("该专家已设置登录密码，可在登录页使用“忘记密码”自行重置。"))
    if not user.email:
        raise InvalidInput(_("该专家账号没有登记邮箱，无法发送设置密码链接。"))
    _notify_login_link(expert, user)
    record_audit(actor=actor, verb="send_login_link", target=expert)


def _notify_login_link(expert: Expert, user) -> None:
    link = reverse("accounts:password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)})
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    notify([user], kind=MessageKind.EXPERT_APPROVED,
           title=_("您已被纳入科技局评审专家库"),
           body=_("%(name)s，您好：科技局已将您纳入评审专家库，登录账号为 %(username)s。请打开以下链接设置登录密码"
                  "（%(days)d 天内有效，只能使用一次；过期请联系科技局重新发送）。") % {
               "name": expert.name, "username": user.username, "days": days},
           link=link, target=expert, dedupe_key=f"expert:{expert.pk}:login_link:{timezone.now().timestamp():.3f}")


def import_experts(*, actor, uploaded) -> ImportReport:
    """Import the experts of an uploaded .xlsx; returns the row-by-row report.

    A file that cannot be imported at all (not .xlsx, over 5 MB or 5,000 rows, headers missing) raises
    InvalidInput and nothing is written.
    """
    if actor is None or not actor.has_perm("experts.manage_pool"):
        raise PermissionRefused(_("只有科技局业务人员可以管理专家库。"))
    content = _check_file(uploaded)
    rows = [_check_row(number, cells) for number, cells in _read_rows(content)]
    _refuse_duplicates(rows)
    report = ImportReport(filename=getattr(uploaded, "name", "") or "")
    codes = {r.data["workplace_credit_code"] for r in rows if r.data.get("workplace_credit_code")}
    orgs = {o.credit_code: o for o in Organization.objects.filter(credit_code__in=codes)}
    now = timezone.now()
    with transaction.atomic():
        group = Group.objects.get_or_create(name=Role.EXPERT.value)[0]
        for r in rows:
            name = r.data.get("name", "")
            if r.example:
                report.rows.append(ImportRow(r.number, False, name, [_("模板中的示例行，已跳过。")]))
                continue
            if r.messages:
                report.rows.append(ImportRow(r.number, False, name, r.messages))
                continue
            try:
                expert = _create(actor, r, group, orgs, now, report.filename)
            except IntegrityError:
                report.rows.append(ImportRow(r.number, False, name,
                                             [_("证件号码或登录账号已存在（可能刚被登记），未导入。")]))
            except ValidationError as e:
                report.rows.append(ImportRow(r.number, False, name, e.messages))
            else:
                report.expert_ids.append(expert.pk)
                report.rows.append(ImportRow(r.number, True, name, []))
    return report


def _create(actor, r: _Row, group, orgs, now, filename) -> Expert:
    d = r.data
    with transaction.atomic():  # the row's savepoint
        user = User(username=r.username, email=d["email"], real_name=d["name"], phone=d["phone"])
        user.set_unusable_password()
        user.save()
        user.groups.add(group)
        expert = Expert(
            user=user, status=Expert.Status.ACTIVE, approved_at=now,
            organization=orgs.get(d["workplace_credit_code"]),
            **{k: d[k] for k in ("name", "id_number", "phone", "workplace", "workplace_credit_code", "title",
                                 "title_level", "discipline_codes", "keywords", "region", "annual_cap")},
        )
        expert.full_clean(exclude=["user", "organization"], validate_unique=False, validate_constraints=False)
        expert.save()
        record_audit(actor=actor, verb="import", target=expert, to_state=expert.status,
                     data={"row": r.number, "file": filename[:200]})
        _notify_login_link(expert, user)
    return expert


# ---- the template -------------------------------------------------------------------------------------


def import_template() -> bytes:
    """An empty import sheet: the headers (required ones marked *), one example row, text-formatted columns
    for long numbers, and a second sheet explaining each column."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("专家信息")
    bold, required_fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    text_columns = {"id_number", "phone", "workplace_credit_code", "discipline_codes"}
    for i, col in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=i, value=col.header + ("*" if col.required else ""))
        cell.font = bold
        if col.required:
            cell.fill = required_fill
        example = ws.cell(row=2, column=i, value=EXAMPLE[col.key])
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(col.header) * 3, len(str(EXAMPLE[col.key])) + 4)
        if col.key in text_columns:  # long numbers typed into these columns stay text in Excel
            example.number_format = "@"
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    notes = wb.create_sheet(_("填写说明"))
    notes.append([_("列"), _("说明")])
    for cell in notes[1]:
        cell.font = bold
    explanations = {
        "name": _("必填。"),
        "id_number": _("必填。居民身份证号码须为18位且校验位正确；其他证件照实填写。请设为文本格式。"),
        "phone": _("11位手机号码；填写后作为登录账号，不填则以邮箱作为登录账号。"),
        "email": _("必填。系统将向该邮箱发送设置登录密码的链接。"),
        "workplace": _("必填。"),
        "workplace_credit_code": _("选填。工作单位的18位统一社会信用代码，用于回避核查。"),
        "title": _("必填。如：教授、研究员、高级工程师。"),
        "title_level": _("必填。正高级、副高级、中级或其他。"),
        "discipline_codes": _("必填。GB/T 13745 学科代码，可填多个，用逗号或分号分隔，如 520.20，520.60。"),
        "keywords": _("研究方向关键词，用逗号分隔。"),
        "region": _("如：杭州市。"),
        "annual_cap": _("选填。每年最多评审的项目数，1至500，默认10。"),
    }
    for col in COLUMNS:
        notes.append([col.header, str(explanations[col.key])])
    notes.append(["", _("第2行为示例，导入时会被跳过；表头以下的空行会被忽略。每次最多导入 %(n)d 行。")
                  % {"n": MAX_ROWS}])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 90
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
