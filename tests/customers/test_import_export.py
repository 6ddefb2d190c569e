"""Customer import (dry run with row errors, all-or-nothing load, at most once) and export
(masked for print, full data only with reveal permission and a reason, one access-log row with
ids, count and file hash). Real PostgreSQL and Redis; tasks run synchronously with .apply()."""
from __future__ import annotations

import csv
import hashlib
import io

import openpyxl
import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from compliance.models import AccessLog
from customers import exporting, importing
from customers.import_tasks import customer_import_run, customer_import_sweep, customer_import_validate
from customers.models import Address, Contact, Customer, CustomerImport, CustomerPhone, ImportStatus
from customers.services import customer_create
from customers.validators import credit_code_check_char
from tenancy.scoping import tenant_scope
from tenancy.selectors import blind_index_for

ACCOUNTS_ZH = ["公司名称", "统一社会信用代码", "行业", "省份", "城市", "区县", "电话", "邮箱", "结算方式", "信用等级",
               "客户经理", "备注"]
PERSONS_ZH = ["姓名", "电话", "邮箱", "身份证号", "省份", "城市", "区县", "详细地址", "配送时段", "备注"]


def credit_code(body17: str) -> str:
    return body17 + credit_code_check_char(body17)


CODE_1 = credit_code("91330106MA2B3C4D5")
CODE_2 = credit_code("91310115MA1K4B2X9")
CODE_3 = credit_code("91440300MA5F6G7H8")


def wrong_check(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:17] + next(ch for ch in alphabet if ch != code[17])


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(world, kind, filename, data, role="sales_manager", tw=None):
    tw = tw or world.a
    actor = tw.user(role)
    with tenant_scope(tw.tenant, user=actor):
        return importing.import_create(actor=actor, kind=kind, filename=filename, data=data)


def reload(tw, imp) -> CustomerImport:
    with tenant_scope(tw.tenant):
        return CustomerImport.objects.select_related("created_by").get(pk=imp.pk)


def validate(world, imp, tw=None) -> CustomerImport:
    tw = tw or world.a
    customer_import_validate.apply(kwargs={"tenant_id": tw.tenant.pk, "import_id": imp.pk}, throw=True)
    return reload(tw, imp)


def confirm(world, imp, tw=None) -> CustomerImport:
    tw = tw or world.a
    actor = tw.user("sales_manager")
    with tenant_scope(tw.tenant, user=actor):
        return importing.import_confirm(actor=actor, imp=imp)


def run(world, imp, tw=None) -> CustomerImport:
    tw = tw or world.a
    customer_import_run.apply(kwargs={"tenant_id": tw.tenant.pk, "import_id": imp.pk}, throw=True)
    return reload(tw, imp)


def full_import(world, kind, filename, data) -> CustomerImport:
    imp = validate(world, upload(world, kind, filename, data))
    assert imp.status == ImportStatus.VALID, imp.errors
    confirm(world, imp)
    return run(world, imp)


def customer_count(tw) -> int:
    with tenant_scope(tw.tenant):
        return Customer.objects.count()


def error_cells(imp) -> set[tuple[int, str]]:
    return {(e["line"], e["column"]) for e in imp.errors}


def existing_person(world, name="老客户", phone="13900139000", tw=None) -> Customer:
    tw = tw or world.a
    actor = tw.user("sales_manager")
    with tenant_scope(tw.tenant, user=actor):
        return customer_create(actor=actor, kind="person", name=name, phones=[phone], email="old@example.com")


# --- import: reading and checking -------------------------------------------------------------------

def test_accounts_csv_utf8_bom_with_chinese_headers_imports_normalised_values(world):
    data = csv_bytes([
        ACCOUNTS_ZH,
        ["杭州一号电商有限公司", CODE_1.lower(), "电商", "浙江", "杭州", "西湖区", "138 0013 8000", "A@Example.com",
         "monthly", "aa", "alpha_sales_manager", "大客户"],
        ["上海二号贸易有限公司", CODE_2, "retail", "上海", "浦东新区", "", "+86 139-0013-9001", "", "", "", "", ""],
    ])
    assert data.startswith(b"\xef\xbb\xbf")
    imp = full_import(world, "accounts", "客户.csv", data)
    assert imp.status == ImportStatus.DONE and imp.created_count == 2 and imp.total_rows == 2
    assert imp.payload is None and imp.finished_at is not None
    with tenant_scope(world.a.tenant):
        first = Customer.objects.get(credit_code=CODE_1)
        assert first.kind == "account" and first.number.startswith("B")
        assert (first.province, first.city, first.district) == ("浙江省", "杭州市", "西湖区")
        assert first.industry == "ecommerce" and first.settlement_type == "monthly" and first.credit_rating == "AA"
        assert first.email == "a@example.com" and first.source_channel == "import"
        assert first.owner == world.a.members["sales_manager"] and first.created_by == world.a.user("sales_manager")
        phone = CustomerPhone.objects.get(phone_bidx=blind_index_for("phone", "+8613800138000"))
        assert phone.customer == first and phone.is_primary and phone.phone == "+8613800138000"
        second = Customer.objects.get(credit_code=CODE_2)
        assert (second.province, second.city) == ("上海市", "浦东新区")
        assert second.settlement_type == "cash"  # the model default for an empty cell
        assert CustomerPhone.objects.get(customer=second).phone == "+8613900139001"
        # the name search index is filled although the rows were bulk-inserted
        from customers.selectors import customer_list
        assert list(customer_list(search="一号电商")) == [first]


def test_persons_csv_in_gb18030_with_several_phones_and_an_address(world):
    data = csv_bytes([
        PERSONS_ZH,
        ["张三丰", "13800138000; 139-0013-9000", "zhang@example.com", "11010519491231002x", "浙江省", "杭州市",
         "西湖区", "文三路100号5幢301室", "晚上", "周末送"],
        ["李四", "13700137000", "", "", "", "", "", "", "", ""],
    ], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    imp = full_import(world, "persons", "persons.csv", data)
    assert imp.status == ImportStatus.DONE and imp.created_count == 2
    with tenant_scope(world.a.tenant):
        person = Customer.objects.get(name="张三丰")
        assert person.kind == "person" and person.number.startswith("C")
        assert person.id_number == "11010519491231002X" and person.delivery_window == "evening"
        phones = list(CustomerPhone.objects.filter(customer=person).order_by("-is_primary", "id"))
        assert [p.phone for p in phones] == ["+8613800138000", "+8613900139000"]
        assert [p.is_primary for p in phones] == [True, False]
        address = Address.objects.get(customer=person)
        assert (address.province, address.city, address.district) == ("浙江省", "杭州市", "西湖区")
        assert address.street == "文三路100号5幢301室" and address.is_default
        assert not Address.objects.filter(customer__name="李四").exists()


def test_xlsx_with_english_headers_and_numeric_phone_cells(world):
    data = xlsx_bytes([
        ["Name", "Phone", "Email", "Province", "City", "Street", "Delivery window"],
        ["王五", 13800138000, "wang@example.com", "Guangdong", "shenzhen", "科技园1号", "evening"],
        [None, None, None, None, None, None, None],  # a blank row is skipped
        ["赵六", "13600136000", None, None, None, None, None],
    ])
    imp = full_import(world, "persons", "people.XLSX", data)
    assert imp.file_format == "xlsx" and imp.status == ImportStatus.DONE and imp.created_count == 2
    with tenant_scope(world.a.tenant):
        wang = Customer.objects.get(name="王五")
        assert (wang.province, wang.city, wang.delivery_window) == ("广东省", "深圳市", "evening")
        assert CustomerPhone.objects.get(customer=wang).phone == "+8613800138000"


def test_dry_run_lists_errors_by_line_and_column_and_writes_nothing(world):
    existing = existing_person(world, phone="13900139000")
    before = customer_count(world.a)
    data = csv_bytes([
        ["name", "credit_code", "province", "city", "phone"],
        ["一号公司", CODE_1, "浙江", "杭州", "12345"],                       # line 2: bad phone
        ["二号公司", wrong_check(CODE_2), "浙江", "杭州", "13800138001"],      # line 3: credit code check char
        ["三号公司", "", "火星省", "", "13800138002"],                         # line 4: unknown province
        ["四号公司", "", "浙江", "杭州", "13800138003"],                       # line 5: fine
        ["五号公司", "", "浙江", "杭州", "138-0013-8003"],                     # line 6: same phone as line 5
        ["六号公司", "", "浙江", "杭州", "139 0013 9000"],                     # line 7: phone of an existing customer
        ["七号公司", CODE_3, "", "", ""],                                      # line 8: fine
        ["八号公司", CODE_3, "", "", ""],                                      # line 9: same credit code as line 8
    ])
    imp = validate(world, upload(world, "accounts", "bad.csv", data))
    assert imp.status == ImportStatus.INVALID
    assert error_cells(imp) == {(2, "phone"), (3, "credit_code"), (4, "province"), (6, "phone"), (7, "phone"),
                                (9, "credit_code")}
    assert imp.error_count == 6 and imp.total_rows == 8
    by_cell = {(e["line"], e["column"]): e["message"] for e in imp.errors}
    assert "5" in by_cell[(6, "phone")] and existing.number in by_cell[(7, "phone")]
    assert "8" in by_cell[(9, "credit_code")]
    assert [e["line"] for e in imp.errors] == sorted(e["line"] for e in imp.errors)
    assert not any("13900139000" in e["message"] for e in imp.errors)  # errors never repeat personal values
    assert customer_count(world.a) == before
    assert imp.payload is None  # a rejected file is wiped
    with pytest.raises(ValidationError):
        confirm(world, imp)


def test_dry_run_counts_every_error_but_keeps_at_most_the_cap(world, monkeypatch):
    monkeypatch.setattr(importing, "MAX_STORED_ERRORS", 3)
    rows = [["name", "phone"]] + [[f"人{i}", "bad"] for i in range(7)]
    imp = validate(world, upload(world, "persons", "p.csv", csv_bytes(rows)))
    assert imp.status == ImportStatus.INVALID and imp.error_count == 7 and len(imp.errors) == 3
    assert [e["line"] for e in imp.errors] == [2, 3, 4]


def test_a_file_with_one_bad_row_imports_nothing(world):
    before = customer_count(world.a)
    rows = [["姓名", "电话"]] + [[f"客户{i}", f"1380013{i:04d}"] for i in range(20)] + [["坏行", "0000"]]
    imp = validate(world, upload(world, "persons", "p.csv", csv_bytes(rows)))
    assert imp.status == ImportStatus.INVALID and error_cells(imp) == {(22, "phone")}
    with pytest.raises(ValidationError):
        confirm(world, imp)
    assert run(world, imp).status == ImportStatus.INVALID
    assert customer_count(world.a) == before


def test_the_load_checks_again_and_writes_nothing_when_data_changed_meanwhile(world):
    rows = [["姓名", "电话"]] + [[f"客户{i}", f"1380013{i:04d}"] for i in range(30)]
    imp = validate(world, upload(world, "persons", "p.csv", csv_bytes(rows)))
    assert imp.status == ImportStatus.VALID
    confirm(world, imp)
    existing_person(world, phone="13800130017")  # someone adds a customer with row 19's phone
    before = customer_count(world.a)
    imp = run(world, imp)
    assert imp.status == ImportStatus.FAILED and error_cells(imp) == {(19, "phone")}
    assert customer_count(world.a) == before and imp.created_count == 0 and imp.payload is None


def test_running_the_import_twice_imports_once(world):
    rows = [["name", "phone"], ["甲", "13800138000"], ["乙", "13800138001"]]
    imp = validate(world, upload(world, "persons", "p.csv", csv_bytes(rows)))
    assert validate(world, imp).status == ImportStatus.VALID  # a second dry run changes nothing
    confirm(world, imp)
    with pytest.raises(ValidationError):
        confirm(world, imp)  # already importing
    before = customer_count(world.a)
    assert run(world, imp).status == ImportStatus.DONE
    assert run(world, imp).status == ImportStatus.DONE
    assert customer_count(world.a) == before + 2
    with tenant_scope(world.a.tenant):
        numbers = sorted(Customer.objects.filter(name__in=["甲", "乙"]).values_list("number", flat=True))
    assert len(set(numbers)) == 2


def test_an_unconfirmed_import_is_never_loaded_and_cancel_wipes_the_file(world):
    imp = validate(world, upload(world, "persons", "p.csv", csv_bytes([["name", "phone"], ["甲", "13800138000"]])))
    before = customer_count(world.a)
    assert run(world, imp).status == ImportStatus.VALID  # not confirmed: the task does nothing
    actor = world.a.user("sales_manager")
    with tenant_scope(world.a.tenant, user=actor):
        imp = importing.import_cancel(actor=actor, imp=imp)
    assert imp.status == ImportStatus.FAILED and imp.payload is None
    with pytest.raises(ValidationError):
        confirm(world, imp)
    assert customer_count(world.a) == before


def test_contacts_import_by_customer_number_or_credit_code(world):
    actor = world.a.user("sales_manager")
    with tenant_scope(world.a.tenant, user=actor):
        first = customer_create(actor=actor, kind="account", name="一号公司", credit_code=CODE_1)
        second = customer_create(actor=actor, kind="account", name="二号公司", credit_code=CODE_2)
        person = customer_create(actor=actor, kind="person", name="个人", phones=["13700137000"])
        from customers.services import contact_create
        old = contact_create(actor=actor, customer=second, name="老联系人", phone="13600136000")
        assert old.is_primary
    header = ["所属客户", "姓名", "职务", "电话", "邮箱", "主联系人"]
    bad = csv_bytes([header,
                     [person.number, "甲", "", "13800138000", "", ""],          # line 2: a person
                     ["B99999999", "乙", "", "13800138001", "", ""],            # line 3: unknown account
                     [second.number, "丙", "", "136 0013 6000", "", ""],        # line 4: existing contact phone
                     [first.number, "丁", "", "", "", "maybe"],                 # line 5: primary + no phone/email
                     ])
    imp = validate(world, upload(world, "contacts", "c.csv", bad))
    assert imp.status == ImportStatus.INVALID
    assert error_cells(imp) == {(2, "account"), (3, "account"), (4, "phone"), (5, "primary"), (5, "phone")}
    good = csv_bytes([header,
                      [first.number.lower(), "王经理", "仓库主管", "13800138000", "", ""],
                      [CODE_1, "李会计", "财务", "", "li@example.com", ""],
                      [second.credit_code, "赵主管", "", "13800138002", "", "是"],
                      ])
    imp = full_import(world, "contacts", "c.csv", good)
    assert imp.status == ImportStatus.DONE and imp.created_count == 3
    with tenant_scope(world.a.tenant):
        contacts = {c.name: c for c in Contact.objects.all()}
        assert contacts["王经理"].customer_id == first.pk and contacts["王经理"].is_primary
        assert contacts["李会计"].customer_id == first.pk and not contacts["李会计"].is_primary
        assert contacts["王经理"].phone == "+8613800138000" and contacts["李会计"].email == "li@example.com"
        assert contacts["赵主管"].is_primary and not contacts["老联系人"].is_primary


@pytest.mark.parametrize(("kind", "filename", "data", "field"), [
    ("persons", "p.txt", b"name,phone\n", "file"),
    ("persons", "p.xls", b"name,phone\n", "file"),
    ("persons", "p.csv", b"", "file"),
    ("persons", "p.csv", "姓名,电话\n".encode(), "file"),                   # header only
    ("persons", "p.csv", "姓名,邮箱\n张三,a@b.cn\n".encode(), "file"),      # required column 电话 missing
    ("persons", "p.xlsx", b"not a zip", "file"),
    ("customers", "p.csv", "姓名,电话\n张三,13800138000\n".encode(), "kind"),
])
def test_bad_uploads_are_refused_on_the_right_field_and_create_nothing(world, kind, filename, data, field):
    with pytest.raises(ValidationError) as caught:
        upload(world, kind, filename, data)
    assert field in caught.value.message_dict
    with tenant_scope(world.a.tenant):
        assert not CustomerImport.objects.exists()


def test_size_and_row_limits(world, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    rows = [["name", "phone"]] + [[f"人{i}", f"1380013800{i}"] for i in range(4)]
    with pytest.raises(ValidationError, match="3"):
        upload(world, "persons", "p.csv", csv_bytes(rows))
    with pytest.raises(ValidationError, match="3"):  # from the sheet's dimension
        upload(world, "persons", "p.xlsx", xlsx_bytes(rows))
    # the sheet's dimension may be wrong: reading the rows enforces the limit too
    with tenant_scope(world.a.tenant), pytest.raises(ValidationError, match="3"):
        importing.check_file("persons", "xlsx", xlsx_bytes(rows))
    monkeypatch.setattr(importing, "MAX_FILE_BYTES", 20)
    with pytest.raises(ValidationError, match="MB"):
        upload(world, "persons", "p.csv", csv_bytes(rows[:2]))


def test_import_needs_the_permission_and_stays_in_its_tenant(world):
    with pytest.raises(PermissionDenied):
        upload(world, "persons", "p.csv", csv_bytes([["name", "phone"], ["甲", "13800138000"]]), role="auditor")
    imp = upload(world, "persons", "p.csv", csv_bytes([["name", "phone"], ["甲", "13800138000"]]))
    with tenant_scope(world.b.tenant), pytest.raises(CustomerImport.DoesNotExist):
        importing.customer_import_get(pk=imp.pk)
    # a task started with the wrong tenant finds nothing to do
    customer_import_validate.apply(kwargs={"tenant_id": world.b.tenant.pk, "import_id": imp.pk}, throw=True)
    assert reload(world.a, imp).status == ImportStatus.UPLOADED


def test_upload_queues_the_dry_run_after_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upload(world, "persons", "p.csv", csv_bytes([["name", "phone"], ["甲", "13800138000"]]))
    assert len(callbacks) == 1


def test_sweep_requeues_stuck_imports_and_wipes_unconfirmed_files(world, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    stuck = upload(world, "persons", "p.csv", csv_bytes([["name", "phone"], ["甲", "13800138000"]]))
    old = validate(world, upload(world, "persons", "q.csv", csv_bytes([["name", "phone"], ["乙", "13800138001"]])))
    with tenant_scope(world.a.tenant):
        CustomerImport.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=1))
        CustomerImport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = customer_import_sweep.apply(kwargs={"tenant_id": world.a.tenant.pk}, throw=True).get()
    assert counts == {"requeued": 1, "expired": 1} and len(callbacks) == 1
    old = reload(world.a, old)
    assert old.status == ImportStatus.FAILED and old.payload is None


def test_progress_hint_shows_a_running_task(world):
    imp = upload(world, "persons", "p.csv", csv_bytes([["name", "phone"]] + [["甲", "13800138000"]] * 4))
    with tenant_scope(world.a.tenant):
        assert importing.import_progress(imp)["percent"] == 0
        importing._hint(imp.pk, stage="checking", processed=2, total=4)
        state = importing.import_progress(reload(world.a, imp))
    assert state["running"] and state["status"] == ImportStatus.VALIDATING and state["percent"] == 50


@pytest.mark.parametrize("kind", ["accounts", "contacts", "persons"])
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_sample_files_import_as_they_are(world, kind, file_format, settings):
    client = world.client_for(world.a.user("sales_manager"))
    if kind == "contacts":
        existing = full_import(world, "accounts", "a.csv", csv_bytes([["name"], ["样例公司"]]))
        assert existing.status == ImportStatus.DONE
        with tenant_scope(world.a.tenant):
            assert Customer.objects.get(name="样例公司").number == "B00000001"
    response = client.get(reverse("customers:import_template", args=[kind]) + f"?format={file_format}")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    if file_format == "csv":
        header = response.content.decode("utf-8-sig").splitlines()[0]
        assert header.startswith(("公司名称", "所属客户", "姓名"))  # the default language is Chinese
    imp = full_import(world, kind, f"sample.{file_format}", response.content)
    assert imp.status == ImportStatus.DONE and imp.created_count == 1


def test_bulk_insert_writes_what_bulk_create_writes(world):
    """The loader's fast INSERT … FROM unnest(…) against Django's bulk_create, column by column."""
    from django.db import DataError, connection, transaction
    from django.utils import timezone

    from customers.search import name_grams

    created = timezone.now()

    def build(number, **extra):
        customer = Customer(kind="person", number=number, name="王 小明", province="浙江省", city="杭州市",
                            created_at=created,
                            owner=world.a.members["sales_manager"], notes='引号 " 和 \\ 反斜杠', **extra)
        customer.search_grams = name_grams(customer.name)
        customer.email, customer.id_number = "w@example.com", "11010519491231002X"
        return customer

    with tenant_scope(world.a.tenant):
        fast, slow = build("C90000001"), build("C90000002")
        importing.bulk_insert(Customer, [fast])
        Customer.objects.bulk_create([slow])
        columns = [f.column for f in Customer._meta.concrete_fields
                   if f.column not in ("id", "number", "updated_at", "id_number", "email")]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns)} FROM customers_customer WHERE id IN (%s, %s) ORDER BY number",
                           [fast.pk, slow.pk])
            first, second = cursor.fetchall()
        assert first == second
        again = Customer.objects.get(pk=fast.pk)
        assert again.email == "w@example.com" and again.id_number == "11010519491231002X"
        assert again.search_grams == name_grams("王 小明") and again.segments == []
        assert again.notes == '引号 " 和 \\ 反斜杠' and again.updated_at is not None
        phone = CustomerPhone(customer=again, phone="13800138000")
        importing.bulk_insert(CustomerPhone, [phone])
        assert CustomerPhone.objects.get(phone_bidx=blind_index_for("phone", "13800138000")).pk == phone.pk
        with pytest.raises(DataError), transaction.atomic():  # lengths are checked, not truncated
            importing.bulk_insert(Customer, [Customer(kind="person", number="C90000003", name="长" * 201)])


# --- import: HTML ---------------------------------------------------------------------------------

def test_html_upload_check_confirm_and_done(world, django_capture_on_commit_callbacks):
    client = world.client_for(world.a.user("sales_manager"))
    page = client.get(reverse("customers:import_list"))
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    data = csv_bytes([PERSONS_ZH, ["张三丰", "13800138000", "", "", "浙江", "杭州", "", "文三路1号", "", ""]])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("customers:import_list"),
                               {"kind": "persons", "file": SimpleUploadedFile("客户.csv", data, "text/csv")})
    assert response.status_code == 302 and len(callbacks) == 1
    with tenant_scope(world.a.tenant):
        imp = CustomerImport.objects.get()
    assert response["Location"] == reverse("customers:import_detail", args=[imp.pk])
    detail = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in detail and "<progress" in detail and "style=" not in detail
    assert "<script" not in detail.split("</head>", 1)[1]

    validate(world, imp)
    fragment = client.get(reverse("customers:import_progress", args=[imp.pk])).content.decode()
    assert "every 1s" not in fragment and reverse("customers:import_confirm", args=[imp.pk]) in fragment

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("customers:import_confirm", args=[imp.pk]))
    assert response.status_code == 302 and len(callbacks) == 1
    assert reload(world.a, imp).status == ImportStatus.IMPORTING
    assert 'hx-trigger="every 1s"' in client.get(reverse("customers:import_progress", args=[imp.pk])).content.decode()

    assert run(world, imp).status == ImportStatus.DONE
    detail = client.get(reverse("customers:import_detail", args=[imp.pk])).content.decode()
    assert "every 1s" not in detail and reverse("customers:import_confirm", args=[imp.pk]) not in detail
    with tenant_scope(world.a.tenant):
        assert Customer.objects.filter(name="张三丰", addresses__city="杭州市").count() == 1
    listing = client.get(reverse("customers:import_list")).content.decode()
    assert "客户.csv" in listing


def test_html_dry_run_errors_are_listed_and_bad_uploads_reshow_the_form(world):
    client = world.client_for(world.a.user("sales_manager"))
    no_phone_column = SimpleUploadedFile("p.csv", "姓名,邮箱\n张三,a@b.cn\n".encode())
    response = client.post(reverse("customers:import_list"), {"kind": "persons", "file": no_phone_column})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    response = client.post(reverse("customers:import_list"), {"kind": "persons"})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()
    with tenant_scope(world.a.tenant):
        assert not CustomerImport.objects.exists()
    imp = validate(world, upload(world, "persons", "p.csv", csv_bytes([["name", "phone"], ["甲", "12"]])))
    page = client.get(reverse("customers:import_detail", args=[imp.pk])).content.decode()
    assert imp.errors[0]["message"] in page and ">2<" in page


def test_auditor_gets_403_and_another_tenant_gets_404(world):
    imp = upload(world, "persons", "p.csv", csv_bytes([["name", "phone"], ["甲", "13800138000"]]))
    auditor = world.client_for(world.a.user("auditor"))
    assert auditor.get(reverse("customers:import_list")).status_code == 403
    assert auditor.get(reverse("customers:import_detail", args=[imp.pk])).status_code == 403
    assert auditor.get(reverse("customers:import_template", args=["persons"])).status_code == 403
    other = world.client_for(world.b.user("sales_manager"))
    for name in ("import_detail", "import_progress"):
        assert other.get(reverse(f"customers:{name}", args=[imp.pk])).status_code == 404
    for name in ("import_confirm", "import_cancel"):
        assert other.post(reverse(f"customers:{name}", args=[imp.pk])).status_code == 404
    assert reload(world.a, imp).status == ImportStatus.UPLOADED


# --- export -----------------------------------------------------------------------------------

@pytest.fixture
def export_world(world):
    actor = world.a.user("sales_manager")
    with tenant_scope(world.a.tenant, user=actor):
        person = customer_create(actor=actor, kind="person", name="张三丰", phones=["13800138000"],
                                 email="zhang@example.com", province="浙江", city="杭州")
        account = customer_create(actor=actor, kind="account", name="=HYPERLINK(\"x\")公司", phones=["13900139000"])
    other = world.b.user("sales_manager")
    with tenant_scope(world.b.tenant, user=other):
        customer_create(actor=other, kind="person", name="ZZCANARYB", phones=["13700137000"])
    world.person, world.account = person, account
    return world


def export_logs(tw) -> list[AccessLog]:
    with tenant_scope(tw.tenant):
        return list(AccessLog.objects.filter(action="export"))


def test_csv_export_is_masked_for_print_and_logged_with_ids_count_and_hash(export_world):
    world = export_world
    client = world.client_for(world.a.user("sales_manager"))
    url = reverse("customers:export")
    page = client.get(url + "?kind=person")
    assert page.status_code == 200 and "1" in page.content.decode()
    response = client.post(url + "?kind=person", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2
    row = rows[1]
    assert row[0] == world.person.number and row[2] == "张*丰" and row[4:6] == ["浙江省", "杭州市"]
    assert row[6] == "*******8000" and row[7] == "z***@example.com"
    text = body.decode("utf-8-sig")
    assert "13800138000" not in text and "zhang@" not in text and "ZZCANARYB" not in text
    (log,) = export_logs(world.a)
    assert log.export_ids == [world.person.pk] and log.export_row_count == 1
    assert log.export_file_sha256 == hashlib.sha256(body).hexdigest()
    assert log.actor == world.a.user("sales_manager") and log.target_type == "customers.customer"
    assert log.target_id is None and set(log.fields) >= {"phone", "email"} and log.request_id
    assert export_logs(world.b) == []


def test_xlsx_export_of_every_customer_of_the_tenant_only(export_world):
    world = export_world
    client = world.client_for(world.a.user("executive"))
    response = client.post(reverse("customers:export"), {"format": "xlsx"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert len(rows) == 3
    numbers = {r[0] for r in rows[1:]}
    assert numbers == {world.person.number, world.account.number}
    account_row = next(r for r in rows if r[0] == world.account.number)
    assert account_row[2] == '=HYPERLINK("x")公司'  # company names in full, stored as text (not a formula)
    assert account_row[6] == "*******9000"
    flat = repr(rows)
    assert "ZZCANARYB" not in flat and "13800138000" not in flat
    (log,) = export_logs(world.a)
    assert sorted(log.export_ids) == sorted([world.person.pk, world.account.pk]) and log.export_row_count == 2
    assert log.export_file_sha256 == hashlib.sha256(response.content).hexdigest()


def test_csv_export_neutralises_formulas(export_world):
    world = export_world
    client = world.client_for(world.a.user("sales_manager"))
    body = client.post(reverse("customers:export") + "?kind=account", {"format": "csv"}).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body


def test_full_data_export_needs_reveal_permission_and_a_reason(export_world):
    world = export_world
    url = reverse("customers:export") + "?kind=person"
    manager = world.client_for(world.a.user("sales_manager"))
    refused = manager.post(url, {"format": "csv", "full_data": "on", "reason": "  "})
    assert refused.status_code == 200 and "invalid-feedback" in refused.content.decode()
    assert export_logs(world.a) == []
    response = manager.post(url, {"format": "csv", "full_data": "on", "reason": "客户资料核对"})
    text = response.content.decode("utf-8-sig")
    assert "+8613800138000" in text and "张三丰" in text and "zhang@example.com" in text
    (log,) = export_logs(world.a)
    assert log.reason == "客户资料核对" and log.export_file_sha256 == hashlib.sha256(response.content).hexdigest()
    # the auditor may export, but only masked: the option is not offered and the service refuses it
    auditor = world.client_for(world.a.user("auditor"))
    assert "full_data" not in auditor.get(url).content.decode()
    masked = auditor.post(url, {"format": "csv", "full_data": "on", "reason": "审计抽查"}).content.decode("utf-8-sig")
    assert "13800138000" not in masked and "*******8000" in masked
    auditor_user = world.a.user("auditor")
    with tenant_scope(world.a.tenant, user=auditor_user), pytest.raises(PermissionDenied):
        exporting.customer_export(actor=auditor_user, membership=world.a.members["auditor"], filters={},
                                  file_format="csv", full_data=True, reason="审计抽查")


def test_export_permission_limits_and_throttle(export_world, settings, monkeypatch):
    world = export_world
    agent = world.client_for(world.a.user("agent"))
    assert agent.get(reverse("customers:export")).status_code == 403
    assert agent.post(reverse("customers:export"), {"format": "csv"}).status_code == 403
    monkeypatch.setattr(exporting, "EXPORT_MAX_ROWS", 1)
    manager = world.client_for(world.a.user("sales_manager"))
    too_many = manager.post(reverse("customers:export"), {"format": "csv"})
    assert too_many.status_code == 200 and "alert-danger" in too_many.content.decode()
    assert export_logs(world.a) == []
    monkeypatch.setattr(exporting, "EXPORT_MAX_ROWS", 100_000)
    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "export": "2/min"}}
    statuses = [manager.post(reverse("customers:export"), {"format": "csv"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(export_logs(world.a)) == 2


def test_export_filters_cannot_reach_another_tenant(export_world):
    world = export_world
    client = world.client_for(world.a.user("sales_manager"))
    for query in ("ZZCANARYB", "13700137000"):  # tenant B's customer by name and by phone
        response = client.post(reverse("customers:export") + f"?q={query}", {"format": "csv"})
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[1:] == []
    assert [log.export_ids for log in export_logs(world.a)] == [[], []]
    assert export_logs(world.b) == []
