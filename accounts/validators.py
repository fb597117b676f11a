from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength


def normalize_credit_code(value: str) -> str:
    return uscc.compact(value or "")


def validate_credit_code(value: str) -> None:
    """统一社会信用代码: 18 characters, GB 32100-2015 check digit (python-stdnum)."""
    try:
        uscc.validate(value)
    except InvalidLength:
        raise ValidationError(_("统一社会信用代码应为18位。"), code="credit_code_length") from None
    except InvalidChecksum:
        raise ValidationError(
            _("统一社会信用代码校验位错误，请核对最后一位。"), code="credit_code_checksum"
        ) from None
    except (InvalidFormat, InvalidComponent):
        raise ValidationError(
            _("统一社会信用代码格式错误：只能包含数字和除 I、O、Z、S、V 以外的大写字母。"),
            code="credit_code_format",
        ) from None


def mask_id_number(value: str) -> str:
    """Mask a 居民身份证号 (or any ID) for display: keep the first 3 and last 4 characters."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def normalize_id_number(value: str) -> str:
    """证件号码 as compared across records: no spaces, upper-case (a 身份证 check character x → X)."""
    return "".join((value or "").split()).upper()
