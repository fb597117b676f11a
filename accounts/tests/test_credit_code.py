import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from stdnum.cn import uscc

from accounts.forms import OrganizationForm
from accounts.tests.factories import make_credit_code
from accounts.validators import normalize_credit_code, validate_credit_code

CHECKSUM_MSG = "统一社会信用代码校验位错误，请核对最后一位。"
LENGTH_MSG = "统一社会信用代码应为18位。"
# A code with letters in the organisation-code part, its check digit computed.
LETTERED = "91330106MA2GL1KQ7" + uscc.calc_check_digit("91330106MA2GL1KQ7")
FORMAT_MSG = "统一社会信用代码格式错误：只能包含数字和除 I、O、Z、S、V 以外的大写字母。"


def wrong_check_digit(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def messages_of(value):
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(value)
    return exc.value.messages


def test_valid_code_is_accepted():
    validate_credit_code(make_credit_code(123))


def test_code_with_letters_is_accepted():
    validate_credit_code(LETTERED)


def test_wrong_check_digit_gives_the_checksum_message():
    assert messages_of(wrong_check_digit(make_credit_code(5))) == [CHECKSUM_MSG]


@pytest.mark.parametrize("value", ["91330106000000001", "9133010600000000131", ""])
def test_bad_length_is_refused(value):
    assert messages_of(value) == [LENGTH_MSG]


@pytest.mark.parametrize("bad", ["I", "O", "Z", "S", "V", "*", "中"])
def test_bad_characters_are_refused(bad):
    code = make_credit_code(7)
    assert messages_of(code[:5] + bad + code[6:]) == [FORMAT_MSG]


def test_lowercase_and_spaces_are_normalised():
    code = make_credit_code(8)
    assert normalize_credit_code(f" {code[:6]} {code[6:].lower()} ") == code


@pytest.mark.django_db
def test_form_reports_wrong_check_digit_on_the_field():
    form = OrganizationForm(
        data={
            "name": "测试单位",
            "credit_code": wrong_check_digit(make_credit_code(9)),
            "kind": "enterprise",
            "region": "杭州市",
            "contact_name": "王",
            "contact_phone": "0571-1",
        }
    )
    assert not form.is_valid()
    assert form.errors["credit_code"] == [CHECKSUM_MSG]
    assert "__all__" not in form.errors


@pytest.mark.django_db
def test_form_accepts_lowercase_code_and_stores_it_uppercase():
    code = LETTERED
    form = OrganizationForm(
        data={
            "name": "测试单位",
            "credit_code": code.lower(),
            "kind": "enterprise",
            "region": "杭州市",
            "contact_name": "王",
            "contact_phone": "0571-1",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["credit_code"] == code


@pytest.mark.django_db
def test_register_page_shows_checksum_error_next_to_the_field(client):
    response = client.post(reverse("accounts:register"), {"credit_code": wrong_check_digit(make_credit_code(11))})
    assert response.status_code == 200
    assert response.context["org_form"].errors["credit_code"] == [CHECKSUM_MSG]
    assert CHECKSUM_MSG in response.content.decode()
