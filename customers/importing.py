"""Customer import from CSV / XLSX files: read, check, load.

Flow (views_io.py and import_tasks.py call these functions; nothing here knows about HTTP):

1. `import_create` checks the upload synchronously (format, size, encoding, header, row count),
   stores the file sealed (base64 in an encrypted field) and queues the dry run on commit.
2. `import_validate` (task) checks every row with the same cleaning the services use
   (`customers.services.records`), plus duplicates inside the file and against existing records,
   and stores the row errors by line and column (at most MAX_STORED_ERRORS kept, all counted).
3. `import_confirm` (the user) moves a valid import to "importing" and queues the load.
4. `import_run` (task) locks the import, checks every row again (data may have changed since the
   dry run) and loads all rows in one transaction with bulk inserts — or nothing at all.

The file holds personal data: it is wiped as soon as the import is finished, rejected, failed or
cancelled. Row error messages never repeat a cell's personal value.

Celery runs each task inside one tenant-scope transaction, so progress written to the import row
would only become visible at the end: while a task works, its progress goes to the cache (a hint
the progress fragment reads, see `import_progress`); the row stays the source of truth.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import BinaryField, JSONField, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from redis.exceptions import RedisError

from tenancy import crypto
from tenancy.fields import EncryptedTextField, allocate_ids
from tenancy.models import Membership, User
from tenancy.scoping import CrossTenantReference, current_tenant_id
from tenancy.services import require_perm

from .models import (
    Address,
    Contact,
    Customer,
    CustomerImport,
    CustomerKind,
    CustomerNameGram,
    CustomerPhone,
    CustomerStatus,
    DeliveryWindow,
    ImportKind,
    ImportStatus,
    Industry,
    SettlementType,
    SourceChannel,
)
from .search import name_grams
from .services.records import (
    _clean_fields,
    _clean_personal,
    _clean_phone_list,
    _contact_fields,
    clean_region,
    customer_number_next,
)
from .validators import normalize_credit_code

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
MAX_UNPACKED_XLSX_BYTES = 400 * 1024 * 1024  # a zip bomb is refused before it is opened
MAX_STORED_ERRORS = 500
CHUNK_ROWS = 500          # rows per batch of checks and per progress report
LOAD_BATCH = 2000         # rows per bulk insert
STALE_AFTER = dt.timedelta(minutes=15)   # a queued step not finished by then is queued again
VALID_KEPT_FOR = dt.timedelta(days=7)    # a checked file nobody confirmed is wiped after this
PROGRESS_TTL_SECONDS = 6 * 3600
RUNNING = (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.IMPORTING)
FINISHED = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.INVALID)
CUSTOMER_KIND = {ImportKind.ACCOUNTS: CustomerKind.ACCOUNT, ImportKind.PERSONS: CustomerKind.PERSON}
_ADVISORY_LOCK_CLASS = 0x43494D50  # "CIMP": one import load at a time per tenant


class ImportFileError(ValidationError):
    """The file as a whole cannot be read (format, encoding, size, header); names the field "file"."""

    def __init__(self, message):
        super().__init__({"file": [message]})


# --- columns -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    example: str = ""


EXAMPLE_CREDIT_CODE = "91310115MA1K4B2X9N"
EXAMPLE_ID_NUMBER = "11010519491231002X"

COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.ACCOUNTS: (
        Column("name", "公司名称", True, ("客户名称", "名称", "company"), "上海示例贸易有限公司"),
        Column("credit_code", "统一社会信用代码", aliases=("信用代码", "社会信用代码"), example=EXAMPLE_CREDIT_CODE),
        Column("industry", "行业", example="ecommerce"),
        Column("province", "省份", aliases=("省",), example="浙江省"),
        Column("city", "城市", aliases=("市",), example="杭州市"),
        Column("district", "区县", aliases=("区",), example="西湖区"),
        Column("phone", "电话", aliases=("手机", "联系电话", "phones"), example="13800138000"),
        Column("email", "邮箱", aliases=("电子邮箱", "e_mail"), example="logistics@example.com"),
        Column("settlement_type", "结算方式", aliases=("settlement",), example="monthly"),
        Column("credit_rating", "信用等级", example="A"),
        Column("owner", "客户经理", aliases=("account_manager",), example=""),
        Column("notes", "备注", aliases=("note",), example=""),
    ),
    ImportKind.CONTACTS: (
        Column("account", "所属客户", True, ("客户", "客户编号", "account_number"), "B00000001"),
        Column("name", "姓名", True, ("联系人",), "王小明"),
        Column("title", "职务", aliases=("job_title",), example="仓库主管"),
        Column("phone", "电话", aliases=("手机", "联系电话"), example="13800138000"),
        Column("email", "邮箱", aliases=("电子邮箱", "e_mail"), example="wang@example.com"),
        Column("primary", "主联系人", aliases=("is_primary", "primary_contact"), example="1"),
    ),
    ImportKind.PERSONS: (
        Column("name", "姓名", True, (), "张三"),
        Column("phone", "电话", True, ("手机", "联系电话", "phones"), "13800138000;13900139000"),
        Column("email", "邮箱", aliases=("电子邮箱", "e_mail"), example="zhang@example.com"),
        Column("id_number", "身份证号", aliases=("身份证", "证件号码"), example=EXAMPLE_ID_NUMBER),
        Column("province", "省份", aliases=("省",), example="浙江省"),
        Column("city", "城市", aliases=("市",), example="杭州市"),
        Column("district", "区县", aliases=("区",), example="西湖区"),
        Column("street", "详细地址", aliases=("地址", "address", "street_address"), example="文三路100号"),
        Column("delivery_window", "配送时段", aliases=("送货时段",), example="evening"),
        Column("notes", "备注", aliases=("note",), example=""),
    ),
}

COLUMN_LABELS = {
    "name": gettext_lazy("Name"), "credit_code": gettext_lazy("Credit code"), "industry": gettext_lazy("Industry"),
    "province": gettext_lazy("Province"), "city": gettext_lazy("City"), "district": gettext_lazy("District"),
    "phone": gettext_lazy("Phone"), "email": gettext_lazy("Email"),
    "settlement_type": gettext_lazy("Settlement"), "credit_rating": gettext_lazy("Credit rating"),
    "owner": gettext_lazy("Account manager"), "notes": gettext_lazy("Notes"), "account": gettext_lazy("Account"),
    "title": gettext_lazy("Job title"), "primary": gettext_lazy("Primary contact"),
    "id_number": gettext_lazy("ID number"), "street": gettext_lazy("Street address"),
    "delivery_window": gettext_lazy("Delivery window"),
}

# Service error keys that are named differently from the file's columns.
_ERROR_COLUMN = {"phones": "phone", "customer": "account", "kind": "", "__all__": ""}
_HEADER_NOISE = re.compile(r"[*＊]|[(（](required|必填)[)）]", re.IGNORECASE)


def _header_token(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "")
    text = _HEADER_NOISE.sub("", text).strip().lower()
    return re.sub(r"[\s\-/]+", "_", text)


def _header_aliases(kind: str) -> dict[str, str]:
    aliases = {}
    for column in COLUMNS[kind]:
        for name in (column.key, column.zh, *column.aliases, str(COLUMN_LABELS.get(column.key, ""))):
            if name:
                aliases[_header_token(name)] = column.key
        with translation.override("en"):
            aliases[_header_token(str(COLUMN_LABELS[column.key]))] = column.key
    return aliases


@dataclass
class Header:
    keys: list[str | None]          # per file column: our column key, or None (ignored)
    ignored: list[str]              # header names we do not know


def parse_header(kind: str, cells: list[str]) -> Header:
    """Map the header row onto our columns; ImportFileError when a required column is missing
    or a column appears twice. Unknown columns are ignored (and reported)."""
    aliases = _header_aliases(kind)
    keys: list[str | None] = []
    ignored: list[str] = []
    seen: set[str] = set()
    for cell in cells:
        token = _header_token(cell)
        key = aliases.get(token)
        if key is None:
            if token:
                ignored.append(str(cell).strip())
            keys.append(None)
            continue
        if key in seen:
            raise ImportFileError(_("The column “%(name)s” appears twice in the header row.") % {"name": cell})
        seen.add(key)
        keys.append(key)
    if not seen:
        raise ImportFileError(_("The first row must name the columns; see the sample file."))
    missing = [c for c in COLUMNS[kind] if c.required and c.key not in seen]
    if missing:
        names = ", ".join(f"{c.key} / {c.zh}" for c in missing)
        raise ImportFileError(_("The header row lacks required columns: %(names)s.") % {"names": names})
    return Header(keys=keys, ignored=ignored)


# --- reading files -------------------------------------------------------------------------------

def file_format_of(filename: str) -> str:
    name = (filename or "").lower().strip()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".xlsx"):
        return "xlsx"
    raise ImportFileError(_("Upload a .csv or .xlsx file (old .xls files: save them as .xlsx first)."))


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (CSV saved by Excel on Chinese Windows)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file's text encoding was not recognised: save it as “CSV UTF-8”."))


def _csv_dialect_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count) if first else ","


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _iter_csv(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_csv_dialect_delimiter(text))
    try:
        for number, row in enumerate(reader, start=1):
            yield number, [cell.strip() for cell in row]
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file is malformed: %(error)s") % {"error": exc}) from exc


def _open_xlsx(data: bytes):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_XLSX_BYTES:
            raise ImportFileError(_("The Excel file is too large once unpacked."))
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError, EOFError,
            ParseError) as exc:
        raise ImportFileError(_("The file is not a readable Excel .xlsx workbook.")) from exc


def _iter_xlsx(data: bytes, dimension: dict | None = None) -> Iterator[tuple[int, list[str]]]:
    workbook = _open_xlsx(data)
    try:
        sheet = workbook.active
        if dimension is not None:
            dimension["max_row"] = sheet.max_row or 0
        sheet.reset_dimensions()  # the stored dimension may be wrong: read to the real end
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in row]
    except (KeyError, ValueError, TypeError, OSError, EOFError, ParseError, zipfile.BadZipFile) as exc:
        raise ImportFileError(_("The file is not a readable Excel .xlsx workbook.")) from exc
    finally:
        workbook.close()


def iter_rows(file_format: str, data: bytes, dimension: dict | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of every non-blank row, the header first; line 1 is the file's first row.
    For XLSX, `dimension["max_row"]` receives the sheet's stored size once reading starts."""
    rows = _iter_csv(data) if file_format == "csv" else _iter_xlsx(data, dimension)
    for number, cells in rows:
        if any(cells):
            yield number, cells


@dataclass
class FileInfo:
    file_format: str
    header: Header
    total_rows: int    # data rows (exact for CSV; from the sheet's dimension for XLSX until checked)


def inspect_file(kind: str, filename: str, data: bytes) -> FileInfo:
    """Cheap checks done while the user waits: format, size, encoding, header, row count."""
    file_format = file_format_of(filename)
    if not data:
        raise ImportFileError(_("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(_("The file is larger than %(mb)s MB: split it into several files.") % {
            "mb": MAX_FILE_BYTES // (1024 * 1024)})
    dimension: dict = {}
    rows = iter_rows(file_format, data, dimension)
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("The file is empty."))
    header = parse_header(kind, first[1])
    if file_format == "csv":
        total = sum(1 for _row in rows)  # the csv module counts 200,000 rows in well under a second
    else:
        total = 1 if next(rows, None) is not None else 0  # XLSX is slow to read: estimate from its dimension
        if total:
            total = max(dimension.get("max_row", 0) - first[0], 1)
        rows.close()
    if total == 0:
        raise ImportFileError(_("The file has a header row but no data rows."))
    if total > MAX_ROWS:
        raise ImportFileError(_("The file has more than %(max)s rows: split it into several files.") % {
            "max": f"{MAX_ROWS:,}"})
    return FileInfo(file_format=file_format, header=header, total_rows=total)


# --- checking rows -------------------------------------------------------------------------------

@dataclass(slots=True)
class PreparedCustomer:
    line: int
    fields: dict
    phones: list[str]
    address: dict | None = None


@dataclass(slots=True)
class PreparedContact:
    line: int
    account_id: int
    fields: dict
    is_primary: bool


@dataclass
class CheckResult:
    total_rows: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    account_ids: set[int] = field(default_factory=set)        # contacts: the accounts named
    primary_account_ids: set[int] = field(default_factory=set)  # contacts: accounts getting a new primary


_TRUE = {"1", "y", "yes", "true", "t", "x", "是", "√", "✓", "主", "主要"}
_FALSE = {"", "0", "n", "no", "false", "f", "否", "-"}


# Common Chinese words for choice values, accepted besides the codes and the (translated) labels.
CHOICE_ALIASES = {
    "industry": {"电商": "ecommerce", "电子商务": "ecommerce", "零售": "retail", "制造": "manufacturing",
                 "制造业": "manufacturing", "电子": "electronics", "电子产品": "electronics", "服装": "apparel",
                 "服装纺织": "apparel", "食品": "food", "生鲜": "food", "医药": "pharma", "医疗": "pharma",
                 "汽配": "automotive", "汽车配件": "automotive", "金融": "finance", "政府": "government",
                 "其他": "other"},
    "settlement_type": {"现结": "cash", "现付": "cash", "月结": "monthly", "预付": "prepaid", "预存": "prepaid"},
    "delivery_window": {"上午": "morning", "下午": "afternoon", "晚上": "evening", "傍晚": "evening",
                        "工作日": "weekdays", "周末": "weekends"},
}


def _choice_map(choices, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """Value lookup accepting the code or its label in English or Chinese (any case)."""
    found = dict(aliases or {})
    for value, label in choices:
        found[value.lower()] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                found[str(label).strip().lower()] = value
        found[str(label).strip().lower()] = value
    found.pop("", None)
    return found


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"": exc.messages}


class RowChecker:
    """Checks the rows of one file (one kind), keeping what is needed to find duplicates.

    `check(rows)` yields one prepared row per data row that passed (PreparedCustomer or
    PreparedContact) and records errors; `result` holds the counts and the first errors."""

    def __init__(self, kind: str, header: Header, *, check_existing: bool = True):
        self.kind = kind
        self.header = header
        self.check_existing = check_existing
        self.tenant_id = current_tenant_id()
        self.result = CheckResult(ignored_columns=header.ignored)
        self.order = {c.key: i for i, c in enumerate(COLUMNS[kind])}
        self._chunk_errors: list[dict] = []
        self._phone_lines: dict[str, int] = {}
        self._code_lines: dict[str, int] = {}
        self._owners: dict[str, Membership | None] = {}
        self._accounts: dict[str, Customer | None] = {}
        self._primary_lines: dict[int, int] = {}
        self.industries = _choice_map(Industry.choices, CHOICE_ALIASES["industry"])
        self.settlements = _choice_map(SettlementType.choices, CHOICE_ALIASES["settlement_type"])
        self.windows = _choice_map([c for c in DeliveryWindow.choices if c[0]], CHOICE_ALIASES["delivery_window"])

    # errors
    def error(self, line: int, column: str, message) -> None:
        self._chunk_errors.append({"line": line, "column": column, "message": str(message)})

    def _errors_from(self, line: int, exc: ValidationError) -> None:
        for key, messages in _messages(exc).items():
            column = _ERROR_COLUMN.get(key, key)
            for message in messages:
                self.error(line, column, message)

    def _flush_errors(self) -> None:
        chunk = sorted(self._chunk_errors, key=lambda e: (e["line"], self.order.get(e["column"], 99)))
        self._chunk_errors = []
        self.result.error_count += len(chunk)
        room = MAX_STORED_ERRORS - len(self.result.errors)
        if room > 0:
            self.result.errors.extend(chunk[:room])

    # the walk
    def check(self, rows: Iterable[tuple[int, list[str]]], progress: Callable[[int], None] | None = None
              ) -> Iterator[list]:
        """Yields lists of prepared rows, one list per chunk (only rows without errors)."""
        chunk: list[tuple[int, dict]] = []
        for line, cells in rows:
            self.result.total_rows += 1
            if self.result.total_rows > MAX_ROWS:
                raise ImportFileError(_("The file has more than %(max)s rows: split it into several files.") % {
                    "max": f"{MAX_ROWS:,}"})
            record = {key: cells[i] if i < len(cells) else "" for i, key in enumerate(self.header.keys) if key}
            chunk.append((line, record))
            if len(chunk) >= CHUNK_ROWS:
                yield self._check_chunk(chunk)
                chunk = []
                if progress:
                    progress(self.result.total_rows)
        if chunk:
            yield self._check_chunk(chunk)
        if progress:
            progress(self.result.total_rows)

    def _check_chunk(self, chunk: list[tuple[int, dict]]) -> list:
        if self.kind == ImportKind.CONTACTS:
            self._resolve_accounts([record.get("account", "") for _line, record in chunk])
        prepared = []
        for line, record in chunk:
            before = len(self._chunk_errors)
            row = self._clean(line, record)
            if row is not None and len(self._chunk_errors) == before:
                prepared.append(row)
        if self.check_existing:
            failed = self._check_against_existing(prepared)
            prepared = [row for row in prepared if row.line not in failed]
        self._flush_errors()
        return prepared

    def _clean(self, line: int, record: dict):
        if self.kind == ImportKind.CONTACTS:
            return self._clean_contact(line, record)
        return self._clean_customer(line, record)

    # accounts and persons
    def _choice(self, mapping: dict, raw: str) -> str:
        return mapping.get(raw.strip().lower(), raw) if raw else raw

    def _owner(self, line: int, username: str) -> Membership | None | bool:
        key = username.strip().lower()
        if key not in self._owners:
            self._owners[key] = (Membership.objects.select_related("user")
                                 .filter(user__username__iexact=username.strip()).first())
        found = self._owners[key]
        if found is None:
            self.error(line, "owner", _("No user with this username works in this company."))
            return False
        return found

    def _clean_customer(self, line: int, record: dict) -> PreparedCustomer | None:
        kind = CUSTOMER_KIND[self.kind]
        data: dict = {"name": record.get("name", "")}
        for key in ("credit_code", "email", "id_number", "notes"):
            if record.get(key):
                data[key] = record[key]
        if record.get("province") or record.get("city"):
            data["province"], data["city"] = record.get("province", ""), record.get("city", "")
        if record.get("industry"):
            data["industry"] = self._choice(self.industries, record["industry"])
        if record.get("settlement_type"):
            data["settlement_type"] = self._choice(self.settlements, record["settlement_type"])
        if record.get("credit_rating"):
            data["credit_rating"] = record["credit_rating"].strip().upper()
        if record.get("delivery_window"):
            data["delivery_window"] = self._choice(self.windows, record["delivery_window"])
        owner_ok = True
        if record.get("owner"):
            owner = self._owner(line, record["owner"])
            owner_ok = owner is not False
            if owner_ok:
                data["owner"] = owner
        try:
            cleaned = _clean_fields(kind, data)
        except ValidationError as exc:
            self._errors_from(line, exc)
            cleaned = None
        district = " ".join(record.get("district", "").split())
        if len(district) > Customer._meta.get_field("district").max_length:
            self.error(line, "district", _("At most %(max)s characters.") % {
                "max": Customer._meta.get_field("district").max_length})
        phones = self._phones(line, record.get("phone", ""))
        if self.kind == ImportKind.PERSONS and phones == []:
            self.error(line, "phone", _("Enter at least one phone number."))
        address = None
        street = record.get("street", "")
        if street.strip():
            address = self._address(line, record, cleaned, district)
        credit_code = (cleaned or {}).get("credit_code")
        if credit_code:
            first = self._code_lines.setdefault(credit_code, line)
            if first != line:
                self.error(line, "credit_code", _("The same credit code is on line %(line)s.") % {"line": first})
        if cleaned is None or phones is None or not owner_ok:
            return None
        if district:
            cleaned["district"] = district
        cleaned.setdefault("source_channel", SourceChannel.IMPORT)
        return PreparedCustomer(line=line, fields=cleaned, phones=phones, address=address)

    def _phones(self, line: int, raw: str) -> list[str] | None:
        parts = [p for p in re.split(r"[;；]", raw or "") if p.strip()]
        try:
            phones = _clean_phone_list(parts)
        except ValidationError as exc:
            self._errors_from(line, exc)
            return None
        for phone in phones:
            first = self._phone_lines.setdefault(phone, line)
            if first != line:
                self.error(line, "phone", _("The same phone number is on line %(line)s.") % {"line": first})
        return phones

    def _address(self, line: int, record: dict, cleaned: dict | None, district: str) -> dict | None:
        try:
            street = _clean_personal("address", record["street"], "street")
        except ValidationError as exc:
            self._errors_from(line, exc)
            return None
        if cleaned is None:
            return None
        try:
            province, city = clean_region(cleaned.get("province", ""), cleaned.get("city", ""), required=True)
        except ValidationError as exc:
            self._errors_from(line, exc)
            return None
        return {"province": province, "city": city, "district": district, "street": street}

    # contacts
    def _resolve_accounts(self, refs: list[str]) -> None:
        numbers, codes = set(), set()
        for ref in refs:
            key = _account_key(ref)
            if not key or key in self._accounts:
                continue
            self._accounts[key] = None
            (numbers if _ACCOUNT_NUMBER.match(key) else codes).add(key)
        if not numbers and not codes:
            return
        found = Customer.objects.exclude(status=CustomerStatus.MERGED).filter(
            Q(number__in=numbers) | Q(credit_code__in=codes)).only("pk", "number", "credit_code", "kind")
        for customer in found:
            for key in (customer.number, customer.credit_code):
                if key and key in self._accounts:
                    self._accounts[key] = customer

    def _clean_contact(self, line: int, record: dict) -> PreparedContact | None:
        ok = True
        account = None
        ref = record.get("account", "")
        if not ref.strip():
            self.error(line, "account", _("Give the account's customer number or credit code."))
            ok = False
        else:
            account = self._accounts.get(_account_key(ref))
            if account is None:
                self.error(line, "account", _("No account with this customer number or credit code."))
                ok = False
            elif account.kind != CustomerKind.ACCOUNT:
                self.error(line, "account", _("Contacts belong to B-end accounts."))
                ok = False
        primary_raw = record.get("primary", "").strip().lower()
        if primary_raw not in _TRUE | _FALSE:
            self.error(line, "primary", _("Write 1 (yes) or 0 (no)."))
            ok = False
        is_primary = primary_raw in _TRUE
        try:
            cleaned = _contact_fields(record.get("name", ""), record.get("title", ""), record.get("phone", ""),
                                      record.get("email", ""), "")
        except ValidationError as exc:
            self._errors_from(line, exc)
            return None
        if account is not None and cleaned.get("phone"):
            first = self._phone_lines.setdefault(f"{account.pk}|{cleaned['phone']}", line)
            if first != line:
                self.error(line, "phone", _("The same contact phone of this account is on line %(line)s.") % {
                    "line": first})
        if account is not None and is_primary:
            first = self._primary_lines.setdefault(account.pk, line)
            if first != line:
                self.error(line, "primary", _("Line %(line)s already marks the primary contact of this account.")
                           % {"line": first})
        if not ok:
            return None
        self.result.account_ids.add(account.pk)
        if is_primary:
            self.result.primary_account_ids.add(account.pk)
        return PreparedContact(line=line, account_id=account.pk, fields=cleaned, is_primary=is_primary)

    # duplicates against the database
    def _bidx(self, phone: str) -> str:
        return crypto.blind_index(phone, tenant_id=self.tenant_id, kind="phone")

    def _check_against_existing(self, prepared: list) -> set[int]:
        failed: set[int] = set()
        if not prepared:
            return failed
        if self.kind == ImportKind.CONTACTS:
            wanted = {(row.account_id, self._bidx(row.fields["phone"])): row for row in prepared
                      if row.fields.get("phone")}
            if wanted:
                existing = Contact.objects.filter(
                    customer_id__in={a for a, _b in wanted}, phone_bidx__in={b for _a, b in wanted},
                ).values_list("customer_id", "phone_bidx")
                for pair in existing:
                    row = wanted.get(pair)
                    if row is not None:
                        self.error(row.line, "phone", _("This account already has a contact with this phone number."))
                        failed.add(row.line)
            return failed
        by_bidx: dict[str, list[PreparedCustomer]] = {}
        for row in prepared:
            for phone in row.phones:
                by_bidx.setdefault(self._bidx(phone), []).append(row)
        if by_bidx:
            for bidx, number in (CustomerPhone.objects.filter(phone_bidx__in=list(by_bidx))
                                 .exclude(customer__status=CustomerStatus.MERGED)
                                 .values_list("phone_bidx", "customer__number")):
                for row in by_bidx.get(bidx, ()):
                    self.error(row.line, "phone", _("A customer with this phone number already exists (%(number)s).")
                               % {"number": number})
                    failed.add(row.line)
        by_code = {row.fields["credit_code"]: row for row in prepared if row.fields.get("credit_code")}
        if by_code:
            for code, number in (Customer.objects.filter(credit_code__in=list(by_code))
                                 .exclude(status=CustomerStatus.MERGED).values_list("credit_code", "number")):
                row = by_code[code]
                self.error(row.line, "credit_code", _("An account with this credit code already exists (%(number)s).")
                           % {"number": number})
                failed.add(row.line)
        return failed


_ACCOUNT_NUMBER = re.compile(r"^[BC]\d{8}$")


def _account_key(ref: str) -> str:
    key = "".join((ref or "").split()).upper()
    if not key or _ACCOUNT_NUMBER.match(key):
        return key
    try:
        return normalize_credit_code(key)
    except ValidationError:
        return key


def check_file(kind: str, file_format: str, data: bytes, *, progress: Callable[[int], None] | None = None,
               loader: Loader | None = None) -> CheckResult:
    """Check every row. Without a loader this is the dry run: every check, nothing written. With
    one, it is the load pass after a clean dry run: rows are cleaned again and handed to the loader
    in chunks while no error has been found (the caller rolls back if one is found later)."""
    rows = iter_rows(file_format, data)
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("The file is empty."))
    # While loading, nothing is looked up in the tables being filled: their planner statistics do not
    # know the new rows, so such lookups would scan more and more (the first pass checked duplicates).
    checker = RowChecker(kind, parse_header(kind, first[1]), check_existing=loader is None)
    for prepared in checker.check(rows, progress):
        if loader is not None and not checker.result.error_count:
            loader.add(prepared)
    if checker.result.total_rows == 0:
        raise ImportFileError(_("The file has a header row but no data rows."))
    if loader is not None and not checker.result.error_count:
        loader.flush()
    return checker.result


# --- loading ---------------------------------------------------------------------------------

class Loader:
    """Inserts checked rows in batches of LOAD_BATCH, in the caller's transaction."""

    def __init__(self, kind: str, *, actor: User, checked: CheckResult):
        self.kind = kind
        self.actor = actor
        self.expected_rows = checked.total_rows
        self.numbers: list[str] = []
        self.loaded = 0
        self.pending: list = []
        self.now = timezone.now()
        self.accounts_with_contact: set[int] = set()
        if kind == ImportKind.CONTACTS:
            self._prepare_contacts(checked)

    def _prepare_contacts(self, checked: CheckResult) -> None:
        """Before any insert (see check_file): which accounts already have a contact, and the old
        primary contact unset where the file names a new one (as contact_create does)."""
        ids = sorted(checked.account_ids)
        for start in range(0, len(ids), 5000):
            part = ids[start:start + 5000]
            self.accounts_with_contact |= set(Contact.objects.filter(customer_id__in=part, is_active=True)
                                              .values_list("customer_id", flat=True).distinct())
        primaries = sorted(checked.primary_account_ids)
        for start in range(0, len(primaries), 5000):
            Contact.objects.filter(customer_id__in=primaries[start:start + 5000], is_primary=True).update(
                is_primary=False)
        self.primary_accounts = set(primaries)

    def add(self, prepared: list) -> None:
        self.pending.extend(prepared)
        if len(self.pending) >= LOAD_BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        if self.loaded + len(batch) > self.expected_rows:
            raise ValidationError(_("The file changed between the check and the import."))
        if self.kind == ImportKind.CONTACTS:
            self._contacts(batch)
        else:
            if not self.numbers:  # all customer numbers in one call (gapless; given back on rollback)
                self.numbers = customer_number_next(CUSTOMER_KIND[self.kind], self.expected_rows)
            self._customers(batch, self.numbers[self.loaded:self.loaded + len(batch)])
        self.loaded += len(batch)

    def _customers(self, batch: list[PreparedCustomer], numbers: list[str]) -> None:
        customers, phones, addresses = [], [], []
        for row, number in zip(batch, numbers, strict=True):
            customer = Customer(kind=CUSTOMER_KIND[self.kind], number=number, created_by=self.actor,
                                created_at=self.now, **row.fields)
            customer.search_grams = name_grams(customer.name)  # what Customer.save() does
            customers.append(customer)
        bulk_insert(Customer, customers)
        # The name-search rows Customer.save() writes (CustomerNameGram.sync; new rows have none to delete).
        pairs = [(c.pk, gram) for c in customers for gram in c.search_grams]
        bulk_insert_columns(CustomerNameGram, {"customer_id": [p[0] for p in pairs], "gram": [p[1] for p in pairs]})
        for row, customer in zip(batch, customers, strict=True):
            for index, phone in enumerate(row.phones):  # like customer_create: the first is primary
                phones.append(CustomerPhone(customer=customer, phone=phone, is_primary=index == 0, label="mobile",
                                            created_at=self.now))
            if row.address:
                addresses.append(Address(customer=customer, is_default=True, created_at=self.now, **row.address))
        bulk_insert(CustomerPhone, phones)
        bulk_insert(Address, addresses)

    def _contacts(self, batch: list[PreparedContact]) -> None:
        contacts = []
        for row in batch:
            # Like contact_create: the first contact of an account without one becomes its primary.
            primary = row.is_primary or (row.account_id not in self.primary_accounts
                                         and row.account_id not in self.accounts_with_contact)
            self.accounts_with_contact.add(row.account_id)
            contacts.append(Contact(customer_id=row.account_id, is_primary=primary, created_at=self.now,
                                    **row.fields))
        bulk_insert(Contact, contacts)


def _array_literal(values) -> str | None:
    if values is None:
        return None
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        else:
            text = str(value).replace("\\", "\\\\").replace('"', '\\"')
            items.append(f'"{text}"')
    return "{" + ",".join(items) + "}"


def bulk_insert(model, objs: list) -> None:
    """Insert `objs` with ONE short statement: INSERT … SELECT … FROM unnest(one array per column).

    Same effect as `model.objects.bulk_create(objs)` for a TenantScopedModel (tenant from the scope,
    ids reserved first where sealed values name their row — otherwise the database numbers the rows
    and the objects keep pk None —, every field's pre_save — sealing, blind indexes, auto_now —
    applied), but about ten times faster for thousands of rows: Django's
    bulk INSERT carries one placeholder per value, which the driver rewrites client-side.
    Constraints, foreign keys and row-level security apply as to any INSERT; varchar lengths are
    checked by the assignment cast."""
    if not objs:
        return
    tenant_id = current_tenant_id()
    for obj in objs:
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise CrossTenantReference(f"{obj!r} belongs to another tenant than the scope")
    missing = [obj for obj in objs if obj.pk is None]
    fields = list(model._meta.concrete_fields)
    if len(missing) == len(objs) and not any(isinstance(f, EncryptedTextField) for f in fields):
        fields.remove(model._meta.pk)  # nothing sealed names its row: the database numbers the rows
    else:
        for obj, new_id in zip(missing, allocate_ids(model, len(missing)), strict=True):
            obj.pk = new_id
    raw_columns = {}
    for fld in fields:
        raw = [fld.pre_save(obj, True) for obj in objs]
        if any(hasattr(value, "resolve_expression") for value in raw):  # a database default / expression
            model.objects.bulk_create(objs)
            return
        raw_columns[fld] = raw
    _insert_arrays(model, raw_columns)


def bulk_insert_columns(model, values: dict[str, list]) -> None:
    """Insert rows given column-wise ({field name: values}) without building model instances, for
    simple rows in large numbers (name grams). Other fields take their default; the database
    numbers the rows. Only for models without sealed fields."""
    fields = [f for f in model._meta.concrete_fields if f is not model._meta.pk]
    if any(isinstance(f, EncryptedTextField) for f in fields):
        raise TypeError(f"{model.__name__} has sealed fields: use bulk_insert()")
    count = len(next(iter(values.values()), []))
    if not count:
        return
    raw_columns = {}
    for fld in fields:
        if fld.name in values or fld.attname in values:
            raw_columns[fld] = values.get(fld.name, values.get(fld.attname))
        elif fld.name == "tenant":
            raw_columns[fld] = [current_tenant_id()] * count
        else:
            raw_columns[fld] = [fld.get_default()] * count
    _insert_arrays(model, raw_columns)


def _insert_arrays(model, raw_columns: dict) -> None:
    """INSERT INTO table (columns) SELECT … FROM unnest(one array parameter per column)."""
    quote = connection.ops.quote_name
    columns, arrays, selects, params = [], [], [], []
    for index, (fld, raw) in enumerate(raw_columns.items()):
        db_type = fld.db_type(connection)
        alias = f"c{index}"
        if isinstance(fld, ArrayField):
            values = [_array_literal(fld.get_db_prep_save(v, connection)) for v in raw]
            arrays.append("%s::text[]")
            selects.append(f"{alias}::{_VARCHAR.sub('text', db_type)}")
        elif isinstance(fld, JSONField):
            values = [None if v is None else json.dumps(v, cls=fld.encoder) for v in raw]
            arrays.append("%s::text[]")
            selects.append(f"{alias}::jsonb")
        elif isinstance(fld, BinaryField):
            values = [None if v is None else bytes(v) for v in raw]
            arrays.append("%s::bytea[]")
            selects.append(alias)
        else:
            values = [fld.get_db_prep_save(v, connection) for v in raw]
            arrays.append(f"%s::{_VARCHAR.sub('text', db_type)}[]")
            selects.append(alias)
        columns.append(quote(fld.column))
        params.append(values)
    aliases = ", ".join(f"c{i}" for i in range(len(columns)))
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 — names from model meta
           f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS t({aliases})")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_VARCHAR = re.compile(r"varchar\(\d+\)")


# --- progress hints ----------------------------------------------------------------------------

def _progress_key(import_id: int) -> str:
    return f"customers:import-progress:{current_tenant_id()}:{import_id}"


def _hint(import_id: int, **values) -> None:
    try:
        cache.set(_progress_key(import_id), values, PROGRESS_TTL_SECONDS)
    except (RedisError, OSError):  # a lost hint only freezes the progress bar
        logger.warning("import %s: progress hint not stored", import_id)


def import_progress(imp: CustomerImport) -> dict:
    """What the progress fragment shows: the row's state, with a running task's hint on top."""
    state = {"status": imp.status, "processed": imp.processed_rows, "total": imp.total_rows,
             "stage": "", "running": imp.status in RUNNING}
    if state["running"]:
        try:
            hint = cache.get(_progress_key(imp.pk))
        except (RedisError, OSError):
            hint = None
        if hint:
            state["stage"] = hint.get("stage", "")
            state["processed"] = hint.get("processed", state["processed"])
            state["total"] = hint.get("total") or state["total"]
            if imp.status == ImportStatus.UPLOADED and hint.get("stage") == "checking":
                state["status"] = ImportStatus.VALIDATING
    total = state["total"]
    state["percent"] = min(100, round(100 * state["processed"] / total)) if total else 0
    state["status_label"] = ImportStatus(state["status"]).label
    return state


# --- services ----------------------------------------------------------------------------------

def customer_import_list() -> QuerySet[CustomerImport]:
    return CustomerImport.objects.select_related("created_by").defer("payload").order_by("-id")


def customer_import_get(*, pk: int) -> CustomerImport:
    """The import of the current tenant (CustomerImport.DoesNotExist otherwise)."""
    return customer_import_list().get(pk=pk)


def _seal_payload(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _payload_bytes(imp: CustomerImport) -> bytes:
    return base64.b64decode(imp.payload or "")


def _enqueue(task_name: str, import_id: int) -> None:
    from . import import_tasks

    task = getattr(import_tasks, task_name)
    tenant_id = current_tenant_id()
    transaction.on_commit(lambda: task.delay(tenant_id=tenant_id, import_id=import_id))


def import_create(*, actor: User, kind: str, filename: str, data: bytes) -> CustomerImport:
    """Check the upload's form (not its rows), store it sealed and queue the dry run."""
    require_perm(actor, "customers.import_customers")
    if kind not in ImportKind.values:
        raise ValidationError({"kind": _("Choose what the file contains.")})
    info = inspect_file(kind, filename, data)
    message = ""
    if info.header.ignored:
        message = (_("Ignored columns: %(names)s") % {"names": ", ".join(info.header.ignored)})[:300]
    with transaction.atomic():
        imp = CustomerImport(kind=kind, filename=(filename or "")[-200:], file_format=info.file_format,
                             status=ImportStatus.UPLOADED, total_rows=info.total_rows, created_by=actor,
                             message=message)
        imp.payload = _seal_payload(data)
        imp.save()
        _enqueue("customer_import_validate", imp.pk)
    return imp


def _finish(imp: CustomerImport, status: str, **values) -> CustomerImport:
    """Write a final state; the file is wiped in the same UPDATE."""
    values.update(status=status, finished_at=timezone.now(), payload=None)
    CustomerImport.objects.filter(pk=imp.pk).update(**values)
    imp.refresh_from_db()
    return imp


def _language_of(imp: CustomerImport) -> str:
    return getattr(imp.created_by, "language", "") or translation.get_language() or "zh-hans"


def import_validate(*, import_id: int) -> CustomerImport | None:
    """The dry run (task). Idempotent: only an uploaded / checking import is checked; a result is
    written only if nobody cancelled the import meanwhile."""
    imp = CustomerImport.objects.select_related("created_by").filter(pk=import_id).first()
    if imp is None or imp.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATING):
        return imp
    total_hint = imp.total_rows

    def progress(done: int) -> None:
        _hint(import_id, stage="checking", processed=done, total=max(total_hint, done))

    progress(0)
    file_error = ""
    with translation.override(_language_of(imp)):
        try:
            result = check_file(imp.kind, imp.file_format, _payload_bytes(imp), progress=progress)
        except ImportFileError as exc:
            result, file_error = None, exc.message_dict["file"][0]
    with transaction.atomic():
        locked = CustomerImport.objects.select_for_update().get(pk=import_id)
        if locked.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATING):
            return locked
        if result is None:
            return _finish(locked, ImportStatus.INVALID, message=file_error[:300], error_count=1,
                           errors=[{"line": 0, "column": "", "message": file_error}])
        if result.error_count:
            return _finish(locked, ImportStatus.INVALID, total_rows=result.total_rows,
                           processed_rows=result.total_rows, error_count=result.error_count, errors=result.errors)
        CustomerImport.objects.filter(pk=import_id).update(
            status=ImportStatus.VALID, total_rows=result.total_rows, processed_rows=result.total_rows,
            error_count=0, errors=[])
        locked.refresh_from_db()
        return locked


def _lock_for_user(imp: CustomerImport) -> CustomerImport:
    """The import row locked, or a ValidationError when a task holds it (the load is running)."""
    try:
        with transaction.atomic():
            return CustomerImport.objects.select_for_update(nowait=True).defer("payload").get(pk=imp.pk)
    except DatabaseError as exc:
        raise ValidationError(_("The import is running; wait until it has finished.")) from exc


def import_confirm(*, actor: User, imp: CustomerImport) -> CustomerImport:
    """The user accepts the dry run: queue the load."""
    require_perm(actor, "customers.import_customers")
    with transaction.atomic():
        locked = _lock_for_user(imp)
        if locked.status != ImportStatus.VALID:
            raise ValidationError(_("Only a checked file without errors can be imported."))
        CustomerImport.objects.filter(pk=locked.pk).update(status=ImportStatus.IMPORTING, processed_rows=0)
        _enqueue("customer_import_run", locked.pk)
    _hint(locked.pk, stage="", processed=0, total=locked.total_rows)  # not the dry run's 100 %
    locked.refresh_from_db()
    return locked


def import_cancel(*, actor: User, imp: CustomerImport) -> CustomerImport:
    """Abandon an import before it is loaded; the file is wiped."""
    require_perm(actor, "customers.import_customers")
    with transaction.atomic():
        locked = _lock_for_user(imp)
        if locked.status in (ImportStatus.IMPORTING, ImportStatus.DONE):
            raise ValidationError(_("This import can no longer be cancelled."))
        if locked.status == ImportStatus.FAILED:
            return locked
        return _finish(locked, ImportStatus.FAILED, message=_("Cancelled by %(name)s.") % {
            "name": actor.display_name or actor.username})


class _NothingImported(Exception):
    """Raised inside the load savepoint to roll it back when a row failed."""

    def __init__(self, result: CheckResult):
        super().__init__("rolled back")
        self.result = result


def import_run(*, import_id: int) -> CustomerImport | None:
    """The load (task), in the task's one transaction: every row is checked again as in the dry run
    (data may have changed since), then loaded in bulk in a savepoint that is rolled back if
    anything fails — all rows or none. Idempotent: the import row is locked and only an import in
    state "importing" is loaded, so a second run (a redelivered message, the sweep) finds it done
    and does nothing."""
    with transaction.atomic():
        imp = CustomerImport.objects.select_for_update().select_related("created_by").filter(pk=import_id).first()
        if imp is None or imp.status != ImportStatus.IMPORTING:
            return imp
        with connection.cursor() as cursor:  # one load at a time per tenant: duplicate checks stay true
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_LOCK_CLASS, current_tenant_id()])
        total_hint = imp.total_rows

        def checking(done: int) -> None:
            _hint(import_id, stage="checking", processed=done, total=max(total_hint, done))

        def saving(done: int) -> None:
            _hint(import_id, stage="saving", processed=done, total=max(total_hint, done))

        data = _payload_bytes(imp)
        checking(0)
        with translation.override(_language_of(imp)):
            try:
                result = check_file(imp.kind, imp.file_format, data, progress=checking)
                if result.error_count:
                    return _finish(imp, ImportStatus.FAILED, total_rows=result.total_rows, processed_rows=0,
                                   error_count=result.error_count, errors=result.errors,
                                   message=_("The data changed since the check: nothing was imported."))
                total_hint = result.total_rows
                with transaction.atomic():
                    loader = Loader(imp.kind, actor=imp.created_by, checked=result)
                    second = check_file(imp.kind, imp.file_format, data, progress=saving, loader=loader)
                    if second.error_count or loader.loaded != result.total_rows:
                        raise _NothingImported(second)
            except _NothingImported as stop:
                return _finish(imp, ImportStatus.FAILED, processed_rows=0, error_count=stop.result.error_count,
                               errors=stop.result.errors,
                               message=_("A row failed while saving; everything was rolled back."))
            except ImportFileError as exc:
                message = exc.message_dict["file"][0]
                return _finish(imp, ImportStatus.FAILED, message=message[:300], error_count=1, processed_rows=0,
                               errors=[{"line": 0, "column": "", "message": message}])
            except (IntegrityError, ValidationError) as exc:
                logger.warning("import %s failed while loading: %s", import_id, exc)
                reason = (" ".join(exc.messages) if isinstance(exc, ValidationError)
                          else _("A record conflicts with one saved meanwhile."))
                return _finish(imp, ImportStatus.FAILED, processed_rows=0,
                               message=(_("Nothing was imported: %(reason)s") % {"reason": reason})[:300])
        return _finish(imp, ImportStatus.DONE, total_rows=result.total_rows, processed_rows=result.total_rows,
                       created_count=loader.loaded, error_count=0, errors=[], message="")


def import_sweep() -> dict[str, int]:
    """Picks up what a lost message left behind (the database is the source of truth): requeues
    imports stuck in a running state and wipes checked files nobody confirmed within a week."""
    now = timezone.now()
    counts = {"requeued": 0, "expired": 0}
    stuck = CustomerImport.objects.filter(created_at__lt=now - STALE_AFTER).defer("payload")
    for imp in stuck.filter(status__in=[ImportStatus.UPLOADED, ImportStatus.VALIDATING]):
        _enqueue("customer_import_validate", imp.pk)
        counts["requeued"] += 1
    for imp in stuck.filter(status=ImportStatus.IMPORTING):
        _enqueue("customer_import_run", imp.pk)
        counts["requeued"] += 1
    expired = CustomerImport.objects.filter(status=ImportStatus.VALID, created_at__lt=now - VALID_KEPT_FOR)
    counts["expired"] = expired.update(status=ImportStatus.FAILED, payload=None, finished_at=now,
                                       message=_("Not confirmed within a week: the file was deleted."))
    return counts


# --- sample files ------------------------------------------------------------------------------

def template_rows(kind: str, *, chinese: bool) -> list[list[str]]:
    columns = COLUMNS[kind]
    return [[c.zh if chinese else c.key for c in columns], [c.example for c in columns]]
