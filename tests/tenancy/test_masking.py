"""Masking follows DOMAIN.md §6: names, phones, ID numbers, addresses, emails."""
from hypothesis import given
from hypothesis import strategies as st

from tenancy.masking import mask_account, mask_address, mask_email, mask_id_number, mask_name, mask_phone

mobile = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(mobile)
def test_phone_on_screen_shows_first_three_and_last_four(number):
    shown = mask_phone("+86" + number)
    assert shown == number[:3] + "****" + number[-4:]
    assert shown.count("*") == 4


@given(mobile)
def test_phone_in_print_shows_only_last_four(number):
    shown = mask_phone("+86" + number, mode="print")
    assert shown == "*" * 7 + number[-4:]
    assert sum(c.isdigit() for c in shown) == 4


@given(st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12))
def test_name_hides_at_least_one_character(name):
    shown = mask_name(name)
    assert len(shown) == len(name)
    assert shown.count("*") >= 1
    assert shown != name or set(name) == {"*"}


def test_name_examples():
    assert mask_name("张三") == "张*"
    assert mask_name("王小明") == "王*明"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("John Smith") == "J*** S****"


@given(st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True))
def test_id_number_hides_the_middle(id_number):
    screen = mask_id_number(id_number)
    assert screen[:3] == id_number[:3] and screen[-4:] == id_number[-4:]
    assert set(screen[3:-4]) == {"*"}
    assert mask_id_number(id_number, "print") == "*" * 14 + id_number[-4:]


@given(st.text(max_size=60))
def test_address_keeps_no_digits(address):
    shown = mask_address(address)
    assert not any(c.isdigit() for c in shown if c.isascii())
    assert len(shown) == len(address)


def test_address_example_hides_building_and_room():
    assert mask_address("上海市浦东新区世纪大道100号2号楼1501室") == "上海市浦东新区世纪大道***号*号楼****室"


def test_email_keeps_first_letter_and_domain():
    assert mask_email("zhang.san@example.com") == "z***@example.com"


def test_empty_values_mask_to_empty():
    for fn in (mask_phone, mask_name, mask_id_number, mask_address, mask_email):
        assert fn(None) == "" and fn("") == ""


@given(st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz@.", min_size=7, max_size=40))
def test_account_shows_only_its_last_four(account):
    shown = mask_account(account)
    assert shown == "*" * 6 + account[-4:]


def test_short_account_shows_nothing():
    assert mask_account("123456") == "******"
    assert mask_account("") == ""
