"""Data generator for the customer benchmarks: one tenant with 1,000,000 C-end persons and 20,000
B-end accounts (contacts, contracts with lanes, activities, 90 days of daily volume).

    .venv/bin/python -m benchmarks.generate_customers [--persons 1000000] [--accounts 20000]
        [--db courier_crm_bench] [--database-url URL] [--workers 2] [--reset]

- Django (as the application role crm_app, under row-level security) creates the tenant through
  `tenancy.services.platform_tenant_create` (code `bench`), its sales-manager memberships and
  reads the tenant's data and index keys.
- Rows are streamed with psycopg 3 `COPY ... FROM STDIN` (text format) by `--workers` forked
  processes, each with its own connection (default: the owner URL of .data/env with the benchmark
  database), chunks of `--chunk` rows per transaction. Each worker generates its rows, seals the
  personal values (AES-GCM under the tenant's data key, associated data tenant|table|column|row,
  the format of `tenancy.crypto.seal`) and computes their blind indexes (`tenancy.crypto.blind_index`).
- PostgreSQL refuses `COPY FROM` into a table with row-level security for any role subject to it,
  and the owner is (FORCE ROW LEVEL SECURITY). So, unless the role bypasses RLS (superuser or
  BYPASSRLS: direct COPY), every chunk is copied into a temporary table and moved with
  `INSERT INTO t SELECT ... FROM stage` in the same transaction, under the policy's WITH CHECK
  (`app.tenant_id` is set on the connection).
- Ids of sealed rows (and of contracts, which lanes point at) are reserved from the tables'
  sequences before sealing; the other tables take their ids from the identity default.
- Afterwards: customer and contract numbering continue after the loaded numbers
  (`number_sequence_raise_to`), `VACUUM (ANALYZE)` the tables (`--no-vacuum`: ANALYZE only), and
  a few rows are read back through the ORM (decryption, blind index lookup) as a check.
Prints the time per table and in total; writes benchmarks/out/generate_customers.json.

Data is deterministic for a `--seed` (except the AES-GCM nonces). Re-running on a tenant that has
customers needs `--reset` (deletes the tenant's customer data first, slow: a fresh database is
quicker, see benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import random
import sys
import time
from bisect import bisect_left
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import _env

DEFAULT_DB = os.environ.get("CRM_CUSTOMERS_BENCH_DB", "courier_crm_bench")
TENANT_CODE = "bench"
REDIS_URL = "redis://127.0.0.1:6379/8"
DOTENV = _env.BASE_DIR / ".data" / "env"
SALES_MANAGERS = 8
SALES_USERNAME = "bench-sales-{:02d}"
M64 = (1 << 64) - 1
APP_NAME = "generate_customers"

# Tables in load order (children after parents) and what --reset deletes (reverse order + extras).
TABLES = ("customers_customer", "customers_customernamegram", "customers_customerphone", "customers_address",
          "customers_contact", "customers_contract", "customers_contractlane", "shipments_customerdailyvolume",
          "customers_activity")


# --- environment ------------------------------------------------------------------------------

def dotenv() -> dict[str, str]:
    """KEY=VALUE pairs of the developer environment file .data/env (if present)."""
    values: dict[str, str] = {}
    if DOTENV.is_file():
        for line in DOTENV.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip().strip("'\"")
    return values


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def bench_environment(database: str = DEFAULT_DB, *, settings_module: str = "courier_crm.settings.base",
                      conn_max_age: int = 600) -> dict[str, str]:
    """benchmarks._env.bench_env() for `database`, with the roles' URLs and the master key file
    of .data/env (the benchmark database was migrated with that key) and Redis database 8."""
    env = _env.bench_env(database, settings_module=settings_module, conn_max_age=conn_max_age)
    dot = dotenv()
    for name in ("DATABASE_URL", "DATABASE_OWNER_URL"):
        if dot.get(name):
            env[name] = with_database(dot[name], database)
    if dot.get("CRM_MASTER_KEY_FILE"):
        env["CRM_MASTER_KEY_FILE"] = dot["CRM_MASTER_KEY_FILE"]
    env["REDIS_URL"] = REDIS_URL
    env["CRM_CACHE_PREFIX"] = f"bench-{database}"
    return env


def setup_django(database: str = DEFAULT_DB, *, settings_module: str = "courier_crm.settings.base",
                 conn_max_age: int = 600) -> dict[str, str]:
    """Put bench_environment() into os.environ (application role, DEBUG off), django.setup()."""
    env = bench_environment(database, settings_module=settings_module, conn_max_age=conn_max_age)
    os.environ.update(env)
    for name in ("CRM_DB_AS_OWNER", "DJANGO_DEBUG", "CRM_ENV_FILE"):
        os.environ.pop(name, None)
    import django

    django.setup()
    return env


# --- word lists ---------------------------------------------------------------------------------

# Surnames with their approximate share of the population in per mille (2020 census order).
SURNAMES = (
    ("王", 71), ("李", 70), ("张", 66), ("刘", 54), ("陈", 46), ("杨", 31), ("黄", 25), ("赵", 23),
    ("吴", 20), ("周", 19), ("徐", 16), ("孙", 15), ("马", 14), ("朱", 13), ("胡", 13), ("郭", 12),
    ("何", 12), ("林", 11), ("高", 11), ("罗", 11), ("郑", 10), ("梁", 10), ("谢", 8), ("宋", 8),
    ("唐", 8), ("许", 7), ("韩", 7), ("冯", 7), ("邓", 7), ("曹", 7), ("彭", 6), ("曾", 6), ("肖", 6),
    ("田", 6), ("董", 5), ("袁", 5), ("潘", 5), ("于", 5), ("蒋", 5), ("蔡", 5), ("余", 5), ("杜", 5),
    ("叶", 5), ("程", 5), ("苏", 4), ("魏", 4), ("吕", 4), ("丁", 4), ("任", 4), ("沈", 4), ("姚", 4),
    ("卢", 4), ("姜", 4), ("崔", 3), ("钟", 3), ("谭", 3), ("陆", 3), ("汪", 3), ("范", 3), ("金", 3),
    ("石", 3), ("廖", 3), ("贾", 3), ("夏", 3), ("韦", 3), ("付", 3), ("方", 3), ("白", 2), ("邹", 2),
    ("孟", 2), ("熊", 2), ("秦", 2), ("邱", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2),
    ("雷", 2), ("侯", 2), ("龙", 2), ("史", 2), ("陶", 2), ("黎", 2), ("贺", 2), ("顾", 2), ("毛", 2),
    ("郝", 2), ("龚", 2), ("邵", 2), ("万", 2), ("钱", 2), ("严", 2), ("覃", 1), ("武", 1), ("戴", 1),
    ("莫", 1), ("孔", 1), ("向", 1), ("汤", 1), ("欧阳", 1), ("上官", 0.2), ("司马", 0.1), ("诸葛", 0.1),
)
# Single-character given names (40 % of people), most common first, with relative weights.
GIVEN_ONE = (
    ("伟", 30), ("芳", 22), ("娜", 20), ("敏", 18), ("静", 18), ("丽", 15), ("强", 15), ("磊", 14),
    ("军", 14), ("洋", 13), ("勇", 12), ("艳", 12), ("杰", 12), ("娟", 11), ("涛", 11), ("明", 10),
    ("超", 10), ("霞", 9), ("平", 9), ("刚", 9), ("辉", 8), ("鹏", 8), ("华", 8), ("飞", 7), ("鑫", 7),
    ("波", 7), ("斌", 7), ("宇", 7), ("浩", 7), ("凯", 6), ("健", 6), ("俊", 6), ("帆", 5), ("帅", 5),
    ("旭", 5), ("宁", 5), ("龙", 5), ("林", 5), ("欢", 5), ("阳", 5), ("琳", 5), ("婷", 5), ("雪", 5),
    ("慧", 5), ("燕", 5), ("红", 5), ("玲", 5), ("萍", 4), ("倩", 4), ("颖", 4), ("晶", 4), ("博", 4),
    ("峰", 4), ("亮", 4), ("琴", 4), ("云", 4), ("洁", 4), ("蕾", 3), ("楠", 3), ("莉", 3), ("彬", 3),
)
# Common two-character given names, and characters freely combined into others.
GIVEN_TWO = (
    ("秀英", 20), ("桂英", 12), ("秀兰", 10), ("建华", 10), ("建国", 10), ("志强", 9), ("海燕", 8),
    ("晓东", 6), ("丽娟", 6), ("建军", 8), ("玉兰", 6), ("国强", 6), ("春梅", 5), ("文静", 5),
    ("子轩", 6), ("梓涵", 6), ("浩然", 6), ("欣怡", 6), ("一诺", 5), ("宇轩", 5), ("思远", 4), ("雨桐", 5),
    ("佳怡", 5), ("子涵", 5), ("俊杰", 5), ("明轩", 4), ("晓明", 5), ("志明", 4), ("丽华", 5), ("淑珍", 4),
    ("伟东", 3), ("伟华", 3), ("伟强", 3), ("伟民", 2), ("小红", 5), ("小燕", 4), ("小龙", 3), ("红梅", 5),
)
GIVEN_CHARS = ("子梓浩宇欣怡思雨佳嘉俊文博一诗晨睿泽涵轩然萱悦琪瑶晓志海建国华明丽秀英春秋玉兰"
               "凤云红霞婷雪慧燕玲倩颖晶琳昊天辰逸航皓铭宏伟勇军强磊杰鹏飞鑫斌凯健帆旭宁龙林欢阳")
TITLES = ("仓库主管", "财务", "采购经理", "物流专员", "总经理", "客服主管", "发货员", "行政", "运营经理")
BRAND_CHARS = "鑫达恒通盛华宏泰昌隆兴瑞丰源嘉诚信德安顺远航博创新天宇金银海邦中联力美亿佳汇众和祥"
INDUSTRY_WORDS = (
    ("ecommerce", "电子商务"), ("ecommerce", "网络科技"), ("retail", "商贸"), ("retail", "百货"),
    ("manufacturing", "机械制造"), ("manufacturing", "精密制造"), ("electronics", "电子科技"),
    ("electronics", "智能科技"), ("apparel", "服饰"), ("apparel", "纺织品"), ("food", "食品"),
    ("food", "生鲜农产品"), ("pharma", "医药"), ("pharma", "生物科技"), ("automotive", "汽车配件"),
    ("finance", "金融服务"), ("government", "文化传媒"), ("other", "实业"), ("other", "进出口贸易"),
)
COMPANY_SUFFIX = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
ROADS = ("人民", "解放", "中山", "建设", "和平", "新华", "文化", "光明", "胜利", "长江", "黄河", "延安",
         "南京", "北京", "青年", "朝阳", "东风", "迎宾", "滨江", "科技", "学府", "工业", "创业", "环城")
ROAD_KIND = ("路", "路", "街", "大道", "东路", "西路", "南路", "北路")
EMAIL_DOMAINS = ("qq.com", "qq.com", "qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "139.com")
# Mainstream mobile prefixes (every one valid for phonenumbers' CN metadata; checked at start).
MOBILE_PREFIXES = (130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157,
                   158, 159, 166, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 191,
                   198, 199)
# Rough share of parcels per province (per mille of customers); cities within a province: the
# capital (listed first) and the big secondary cities weigh more.
PROVINCE_WEIGHT = {
    "广东省": 140, "浙江省": 100, "江苏省": 90, "上海市": 60, "山东省": 60, "北京市": 50, "河南省": 50,
    "四川省": 50, "福建省": 40, "湖北省": 40, "湖南省": 40, "河北省": 40, "安徽省": 30, "重庆市": 25,
    "陕西省": 25, "江西省": 25, "广西壮族自治区": 25, "辽宁省": 25, "天津市": 20, "云南省": 20,
    "山西省": 18, "贵州省": 15, "黑龙江省": 15, "吉林省": 12, "内蒙古自治区": 10,
    "新疆维吾尔自治区": 10, "甘肃省": 10, "海南省": 8, "宁夏回族自治区": 4, "青海省": 3, "西藏自治区": 2,
}
BIG_CITIES = {"深圳市": 8, "广州市": 7, "东莞市": 4, "佛山市": 3, "杭州市": 7, "宁波市": 4, "金华市": 4,
              "温州市": 3, "苏州市": 7, "南京市": 5, "无锡市": 3, "青岛市": 5, "济南市": 4, "郑州市": 6,
              "成都市": 8, "厦门市": 4, "泉州市": 4, "福州市": 4, "武汉市": 7, "长沙市": 6, "石家庄市": 4,
              "合肥市": 5, "西安市": 7, "南昌市": 4, "南宁市": 4, "沈阳市": 4, "大连市": 4, "昆明市": 5}
MUNICIPAL_BIG_DISTRICTS = {"浦东新区": 6, "闵行区": 3, "朝阳区": 5, "海淀区": 4, "渝北区": 3, "滨海新区": 3}


# --- deterministic helpers (shared by all processes) ---------------------------------------------

def unit(x: int, salt: int) -> float:
    """A uniform [0, 1) value from (x, salt): splitmix64, so phases agree without sharing state."""
    z = (x * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return (z ^ (z >> 31)) / 18446744073709551616.0


def phone_e164(serial: int, seed: int) -> str:
    """A distinct valid mainland mobile number for every serial (bijective in serial)."""
    prefix = MOBILE_PREFIXES[serial % len(MOBILE_PREFIXES)]
    rest = (serial // len(MOBILE_PREFIXES) * 48271 + 7919 * (seed + 1)) % 100_000_000
    return f"+86{prefix}{rest:08d}"


def weighted_table(pairs, size: int) -> list:
    """A lookup table in which each value fills a share of `size` slots by its weight."""
    total = sum(w for _, w in pairs)
    table: list = []
    acc = 0.0
    for value, weight in pairs:
        acc += weight
        table.extend([value] * (round(acc / total * size) - len(table)))
    return table


def region_table() -> list[tuple[str, str, str]]:
    """(province, city, province code) slots weighted by PROVINCE_WEIGHT / BIG_CITIES."""
    from customers.regions import CITIES, PROVINCES

    pairs = []
    for province in PROVINCES:
        weight = PROVINCE_WEIGHT.get(province.name, 0.3)
        cities = CITIES[province.name]
        city_w = []
        for n, city in enumerate(cities):
            if province.name.endswith("市") and province.code in ("11", "12", "31", "50"):
                w = MUNICIPAL_BIG_DISTRICTS.get(city.name, 1.5)
            else:
                w = BIG_CITIES.get(city.name, 5 if n == 0 else 1)
            city_w.append(w)
        total = sum(city_w)
        pairs += [((province.name, city.name, province.code), weight * w / total)
                  for city, w in zip(cities, city_w, strict=True)]
    return weighted_table(pairs, 20_000)


def credit_code(j: int, province_code: str, seed: int) -> str:
    from customers.validators import CREDIT_CODE_ALPHABET, credit_code_check_char

    n = j + 31 ** 6 * (1 + seed % 900)  # 9 base-31 digits, distinct per account
    digits = []
    for _ in range(9):
        n, r = divmod(n, 31)
        digits.append(CREDIT_CODE_ALPHABET[r])
    first17 = f"91{province_code}0100" + "".join(reversed(digits))
    return first17 + credit_code_check_char(first17)


def id_number(rng: random.Random, province_code: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    born = dt.date(1950, 1, 1) + dt.timedelta(days=int(rng.random() * 20000))
    first17 = f"{province_code}01{rng.randrange(1, 30):02d}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


# --- the plan handed to the workers ---------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    dsn: str
    direct_copy: bool
    tenant_id: int
    seed: int
    persons: int
    accounts: int
    days: int
    activities: float
    chunk: int
    customer_base: int
    phone_base: int
    address_base: int
    contact_base: int
    contract_base: int
    owners: tuple[int, ...]
    data_version: int
    data_key: bytes
    index_key: bytes
    today: str
    contracts: tuple[tuple[str, str, str], ...]  # per account: (number, start, end)

    @property
    def total(self) -> int:
        return self.persons + self.accounts

    def account_position(self, j: int) -> int:
        """Customer index k of account j: accounts are spread evenly among the persons."""
        return (2 * j + 1) * self.total // (2 * self.accounts)


# --- worker side ----------------------------------------------------------------------------------

_W: dict = {}


def _worker_init(plan: Plan) -> None:
    import psycopg
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from customers.search import name_grams

    conn = psycopg.connect(plan.dsn, autocommit=True, application_name=APP_NAME)
    conn.execute("SET temp_buffers = '256MB'")  # before the session's first temporary table
    conn.execute("SET synchronous_commit = off")  # a bulk load: no need to wait for each chunk's flush
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", [str(plan.tenant_id)])
    regions = region_table()
    _W.update(
        plan=plan, conn=conn, stages=set(), aead=AESGCM(plan.data_key), grams=name_grams, regions=regions,
        header=bytes([1]) + plan.data_version.to_bytes(4, "big"),
        surnames=weighted_table(SURNAMES, 10_000), given_one=weighted_table(GIVEN_ONE, 2_000),
        given_two=weighted_table(GIVEN_TWO, 2_000),
        positions=[plan.account_position(j) for j in range(plan.accounts)],
        today=dt.date.fromisoformat(plan.today),
    )


def _seal(value: str, table: str, column: str, row_id: int) -> str:
    """COPY text of the sealed value: the byte layout of tenancy.crypto.seal, hex bytea."""
    plan = _W["plan"]
    nonce = os.urandom(12)
    body = _W["aead"].encrypt(nonce, value.encode(), f"{plan.tenant_id}|{table}|{column}|{row_id}".encode())
    return "\\\\x" + (_W["header"] + nonce + body).hex()


def _bidx(value: str, kind: str) -> str:
    return hmac.new(_W["plan"].index_key, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()


def _person_name(rng: random.Random) -> str:
    surname = _W["surnames"][int(rng.random() * 10_000)]
    r = rng.random()
    if r < 0.4:
        return surname + _W["given_one"][int(rng.random() * 2_000)]
    if r < 0.6:
        return surname + _W["given_two"][int(rng.random() * 2_000)]
    return surname + rng.choice(GIVEN_CHARS) + rng.choice(GIVEN_CHARS)


def _region(k: int) -> tuple[str, str, str]:
    table = _W["regions"]
    return table[int(unit(k, 1) * len(table))]


def _copy(table: str, columns: tuple[str, ...], lines: list[str]) -> float:
    """Load one chunk in one transaction; returns the seconds spent in the database."""
    if not lines:
        return 0.0
    conn = _W["conn"]
    cols = ", ".join(columns)
    data = "\n".join(lines) + "\n"
    start = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        if _W["plan"].direct_copy:
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                copy.write(data)
        else:
            stage = f"stage_{table}_{len(columns)}"
            if stage not in _W["stages"]:
                cur.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DELETE ROWS AS SELECT {cols} FROM {table} "
                            "WITH NO DATA")
                _W["stages"].add(stage)
            with cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
                copy.write(data)
            cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}")
    return time.perf_counter() - start


def _ts(day: dt.date, seconds: int) -> str:
    return f"{day.isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+08"


CUSTOMER_COLUMNS = (
    "id", "tenant_id", "number", "kind", "name", "search_grams", "status", "province", "city", "district",
    "owner_id", "source_channel", "credit_code", "industry", "credit_rating", "settlement_type", "id_number",
    "id_number_bidx", "email", "email_bidx", "delivery_window", "delivery_notes", "notes", "segments",
    "segments_computed_at", "merged_into_id", "created_by_id",
    "created_at", "updated_at",
)
PERSON_STATUS = weighted_table((("active", 92), ("inactive", 5), ("prospect", 3)), 100)
ACCOUNT_STATUS = weighted_table((("active", 88), ("inactive", 8), ("prospect", 4)), 100)
PERSON_CHANNEL = weighted_table((("phone", 30), ("wechat", 25), ("app", 20), ("web", 15), ("walk_in", 10)), 100)
ACCOUNT_CHANNEL = weighted_table((("sales", 40), ("lead", 25), ("referral", 15), ("phone", 10), ("web", 10)), 100)
WINDOWS = weighted_table((("", 70), ("morning", 6), ("afternoon", 6), ("evening", 8), ("weekdays", 5),
                          ("weekends", 5)), 100)
RATINGS = weighted_table((("AAA", 10), ("AA", 25), ("A", 35), ("B", 20), ("C", 10)), 100)
HISTORY_DAYS = 3 * 365


def account_settlement(j: int) -> str:
    u = unit(j, 4)
    return "monthly" if u < 0.7 else "prepaid" if u < 0.85 else "cash"


def account_level(j: int) -> float:
    """Mean parcels per day of account j (log-uniform 2 … 2,000)."""
    return 2 * 1000 ** unit(j, 5)


def _customers(k0: int, k1: int) -> tuple[str, int, float, float]:
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    rng = random.Random(plan.seed * 1_000_003 + k0)
    positions = _W["positions"]
    j = bisect_left(positions, k0)
    today = _W["today"]
    first_day = today - dt.timedelta(days=HISTORY_DAYS)
    now = _ts(today, 3600)
    grams = _W["grams"]
    lines = []
    table = "customers_customer"
    for k in range(k0, k1):
        cid = plan.customer_base + k
        province, city, pcode = _region(k)
        day = first_day + dt.timedelta(days=k * HISTORY_DAYS // plan.total)
        created = _ts(day, 8 * 3600 + int(rng.random() * 50_000))
        if j < plan.accounts and positions[j] == k:
            industry, word = rng.choice(INDUSTRY_WORDS)
            short = city.removesuffix("市") if len(city) > 2 else city
            name = short + rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS) + word + rng.choice(COMPANY_SUFFIX)
            settlement = account_settlement(j)
            segments = ["monthly_settlement"] if settlement == "monthly" else []
            if account_level(j) > 300:
                segments.insert(0, "high_value")
            email = f"ops{j}@{rng.choice(('corp', 'biz', 'trade'))}{j % 97}.cn"
            lines.append("\t".join((
                str(cid), str(plan.tenant_id), f"B{j + 1:08d}", "account", name, "{" + ",".join(grams(name)) + "}",
                ACCOUNT_STATUS[int(rng.random() * 100)], province, city, "", str(plan.owners[j % len(plan.owners)]),
                ACCOUNT_CHANNEL[int(rng.random() * 100)], credit_code(j, pcode, plan.seed), industry,
                RATINGS[int(rng.random() * 100)], settlement, "\\N", "\\N",
                _seal(email, table, "email", cid), _bidx(email, "email"), "weekdays", "", "",
                "{" + ",".join(segments) + "}", now, "\\N", "\\N", created, created,
            )))
            j += 1
            continue
        i = k - j
        name = _person_name(rng)
        r = rng.random()
        if r < 0.2:
            idn = id_number(rng, pcode)
            id_sealed, id_bidx = _seal(idn, table, "id_number", cid), _bidx(idn, "id_number")
        else:
            id_sealed = id_bidx = "\\N"
        if r > 0.7:
            local = str(rng.randrange(10_000_000, 3_000_000_000)) if r > 0.85 else f"user{i}x{rng.randrange(100)}"
            email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
            email_sealed, email_bidx = _seal(email, table, "email", cid), _bidx(email, "email")
        else:
            email_sealed = email_bidx = "\\N"
        lines.append("\t".join((
            str(cid), str(plan.tenant_id), f"C{i + 1:08d}", "person", name, "{" + ",".join(grams(name)) + "}",
            PERSON_STATUS[int(rng.random() * 100)], province, city, "", "\\N", PERSON_CHANNEL[int(rng.random() * 100)],
            "", "", "", "cash", id_sealed, id_bidx, email_sealed, email_bidx, WINDOWS[int(rng.random() * 100)],
            "", "", "{}", "\\N", "\\N", "\\N", created, created,
        )))
    gram_lines = [f"{plan.tenant_id}\t{line.split(chr(9), 1)[0]}\t{gram}"
                  for line in lines for gram in line.split("\t")[5].strip("{}").split(",") if gram]
    built = time.perf_counter() - start
    copied = _copy(table, CUSTOMER_COLUMNS, lines)
    # The name-search side table (customers.CustomerNameGram): one row per gram of each name.
    copied += _copy("customers_customernamegram", ("tenant_id", "customer_id", "gram"), gram_lines)
    return table, len(lines), built, copied


PHONE_COLUMNS = ("id", "tenant_id", "customer_id", "phone", "phone_bidx", "label", "is_primary", "created_at")


def _phones(k0: int, k1: int) -> tuple[str, int, float, float]:
    """Persons 1–2 mobile numbers (35 % have a second), accounts one office number. Phone row id
    = phone_base + 2k + n and the number's serial 2k + n: unique without coordination."""
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    positions = _W["positions"]
    j = bisect_left(positions, k0)
    created = _ts(_W["today"], 3600)
    table = "customers_customerphone"
    lines = []
    for k in range(k0, k1):
        is_account = j < plan.accounts and positions[j] == k
        if is_account:
            j += 1
        count = 1 if is_account or unit(k, 2) >= 0.35 else 2
        for n in range(count):
            pid = plan.phone_base + 2 * k + n
            phone = phone_e164(2 * k + n, plan.seed)
            lines.append("\t".join((
                str(pid), str(plan.tenant_id), str(plan.customer_base + k), _seal(phone, table, "phone", pid),
                _bidx(phone, "phone"), "work" if is_account else "mobile", "t" if n == 0 else "f", created,
            )))
    built = time.perf_counter() - start
    return table, len(lines), built, _copy(table, PHONE_COLUMNS, lines)


ADDRESS_COLUMNS = ("id", "tenant_id", "customer_id", "label", "province", "city", "district", "street", "postal_code",
                   "is_default", "created_at")


def _addresses(k0: int, k1: int) -> tuple[str, int, float, float]:
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    rng = random.Random(plan.seed * 1_000_033 + k0)
    created = _ts(_W["today"], 3600)
    table = "customers_address"
    lines = []
    for k in range(k0, k1):
        province, city, pcode = _region(k)
        count = 2 if unit(k, 3) < 0.25 else 1
        for n in range(count):
            aid = plan.address_base + 2 * k + n
            street = (f"{rng.choice(ROADS)}{rng.choice(ROAD_KIND)}{rng.randrange(1, 999)}号"
                      f"{rng.randrange(1, 30)}栋{rng.randrange(1, 6)}单元"
                      f"{rng.randrange(1, 33)}{rng.randrange(1, 5):02d}室")
            lines.append("\t".join((
                str(aid), str(plan.tenant_id), str(plan.customer_base + k), "家" if n == 0 else "公司",
                province, city, "", _seal(street, table, "street", aid), f"{pcode}{rng.randrange(10_000):04d}",
                "t" if n == 0 else "f", created,
            )))
    built = time.perf_counter() - start
    return table, len(lines), built, _copy(table, ADDRESS_COLUMNS, lines)


CONTACT_COLUMNS = ("id", "tenant_id", "customer_id", "name", "title", "phone", "phone_bidx", "email", "email_bidx",
                   "is_primary", "is_active", "notes", "created_at")


def _contacts(j0: int, j1: int) -> tuple[str, int, float, float]:
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    rng = random.Random(plan.seed * 1_000_037 + j0)
    created = _ts(_W["today"], 3600)
    table = "customers_contact"
    lines = []
    for j in range(j0, j1):
        cid = plan.customer_base + plan.account_position(j)
        for n in range(2 if unit(j, 6) < 0.5 else 3):
            ctid = plan.contact_base + 3 * j + n
            phone = phone_e164(2 * plan.total + 3 * j + n, plan.seed)
            email = f"contact{3 * j + n}@{rng.choice(EMAIL_DOMAINS)}"
            lines.append("\t".join((
                str(ctid), str(plan.tenant_id), str(cid), _person_name(rng), rng.choice(TITLES),
                _seal(phone, table, "phone", ctid), _bidx(phone, "phone"), _seal(email, table, "email", ctid),
                _bidx(email, "email"), "t" if n == 0 else "f", "t", "", created,
            )))
    built = time.perf_counter() - start
    return table, len(lines), built, _copy(table, CONTACT_COLUMNS, lines)


CONTRACT_COLUMNS = ("id", "tenant_id", "customer_id", "number", "start_date", "end_date", "monthly_commitment",
                    "settlement_type", "status", "notes", "opportunity_id", "signed_at", "terminated_at",
                    "created_by_id", "created_at")
LANE_COLUMNS = ("tenant_id", "contract_id", "origin_province", "destination_province", "min_weight_kg",
                "max_weight_kg", "first_weight_price", "additional_kg_price")


def _contracts(j0: int, j1: int) -> tuple[str, int, float, float]:
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    table = "customers_contract"
    lines = []
    for j in range(j0, j1):
        number, start_date, end_date = plan.contracts[j]
        signed = _ts(dt.date.fromisoformat(start_date) - dt.timedelta(days=3), 36000)
        settlement = account_settlement(j)
        lines.append("\t".join((
            str(plan.contract_base + j), str(plan.tenant_id), str(plan.customer_base + plan.account_position(j)),
            number, start_date, end_date, str(int(account_level(j) * 30 * 0.8)),
            "monthly" if settlement == "cash" else settlement, "active", "", "\\N", signed, "\\N", "\\N", signed,
        )))
    built = time.perf_counter() - start
    return table, len(lines), built, _copy(table, CONTRACT_COLUMNS, lines)


def _lanes(j0: int, j1: int) -> tuple[str, int, float, float]:
    from customers.regions import PROVINCES

    start = time.perf_counter()
    plan: Plan = _W["plan"]
    rng = random.Random(plan.seed * 1_000_039 + j0)
    names = [p.name for p in PROVINCES[:31]]
    table = "customers_contractlane"
    lines = []
    for j in range(j0, j1):
        origin = _region(plan.account_position(j))[0]
        for destination in rng.sample(names, 3 + int(unit(j, 7) * 4)):
            first = 6 + rng.randrange(0, 900) / 100
            lines.append("\t".join((
                str(plan.tenant_id), str(plan.contract_base + j), origin, destination, "0.00", "30.00",
                f"{first:.2f}", f"{1 + rng.randrange(0, 500) / 100:.2f}",
            )))
    built = time.perf_counter() - start
    return table, len(lines), built, _copy(table, LANE_COLUMNS, lines)


VOLUME_COLUMNS = ("tenant_id", "customer_id", "day", "parcels", "revenue", "returned", "updated_at")
WEEKDAY_FACTOR = (1.1, 1.05, 1.0, 1.0, 1.1, 0.8, 0.6)


def _volume(j0: int, j1: int) -> tuple[str, int, float, float]:
    """`days` days up to yesterday; 10 % of the accounts fall off over the last 30 days (churn)."""
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    rng = random.Random(plan.seed * 1_000_081 + j0)
    today = _W["today"]
    days = [today - dt.timedelta(days=d) for d in range(plan.days, 0, -1)]
    day_text = [d.isoformat() for d in days]
    factors = [WEEKDAY_FACTOR[d.weekday()] for d in days]
    updated = _ts(today, 3600)
    table = "shipments_customerdailyvolume"
    tenant = str(plan.tenant_id)
    lines = []
    for j in range(j0, j1):
        cid = str(plan.customer_base + plan.account_position(j))
        level = account_level(j)
        fee = 5 + unit(j, 8) * 10
        churning = unit(j, 9) < 0.1
        for n, (day, factor) in enumerate(zip(day_text, factors, strict=True)):
            left = plan.days - n
            mean = level * factor * (left / 30 if churning and left < 30 else 1)
            parcels = max(0, int(mean * (0.7 + 0.6 * rng.random()) + 0.5))
            returned = int(parcels * 0.04 * rng.random())
            lines.append(f"{tenant}\t{cid}\t{day}\t{parcels}\t{parcels * fee:.2f}\t{returned}\t{updated}")
    built = time.perf_counter() - start
    return table, len(lines), built, _copy(table, VOLUME_COLUMNS, lines)


ACTIVITY_COLUMNS = ("tenant_id", "customer_id", "owner_id", "kind", "occurred_at", "summary", "next_action",
                    "next_action_date", "next_action_done_at", "created_at")
SUMMARIES = ("电话回访，确认本月发货量", "上门拜访，介绍新的时效产品", "微信沟通报价", "发送电商件报价单",
             "客户反馈上周有延误，已协调网点", "讨论续签合同条款", "客户询问冷链服务", "确认对账单无误")
NEXT_ACTIONS = ("发送报价单", "安排上门拜访", "跟进合同续签", "确认发货计划", "")


def _activities(j0: int, j1: int) -> tuple[str, int, float, float]:
    start = time.perf_counter()
    plan: Plan = _W["plan"]
    rng = random.Random(plan.seed * 1_000_099 + j0)
    today = _W["today"]
    table = "customers_activity"
    lines = []
    for j in range(j0, j1):
        cid = str(plan.customer_base + plan.account_position(j))
        owner = str(plan.owners[j % len(plan.owners)])
        for _ in range(int(unit(j, 10) * 2 * plan.activities + 0.5)):
            day = today - dt.timedelta(days=rng.randrange(1, 365))
            at = _ts(day, 9 * 3600 + rng.randrange(9 * 3600))
            action = rng.choice(NEXT_ACTIONS)
            due = (day + dt.timedelta(days=rng.randrange(1, 14))).isoformat() if action else "\\N"
            done = at if action and rng.random() < 0.8 else "\\N"
            lines.append("\t".join((str(plan.tenant_id), cid, owner, rng.choice(("call", "visit", "message", "quote")),
                                    at, rng.choice(SUMMARIES), action, due, done, at)))
    built = time.perf_counter() - start
    return table, len(lines), built, _copy(table, ACTIVITY_COLUMNS, lines)


def _run_chunk(task: tuple[str, int, int]) -> tuple[str, int, float, float, float]:
    name, a, b = task
    cpu = time.process_time()
    table, rows, built, copied = WORKERS_BY_PHASE[name](a, b)
    return table, rows, built, copied, time.process_time() - cpu


WORKERS_BY_PHASE = {
    "customers": _customers, "phones": _phones, "addresses": _addresses, "contacts": _contacts,
    "contracts": _contracts, "lanes": _lanes, "daily volume": _volume, "activities": _activities,
}


# --- parent side ----------------------------------------------------------------------------------

def reserve_ids(conn, table: str, count: int) -> int:
    """Reserve `count` consecutive ids of `table`'s identity sequence; returns the first.

    One nextval() with the increment raised to `count` (ALTER SEQUENCE blocks concurrent
    nextval() meanwhile): O(1), unlike a nextval() per id, and safe with concurrent writers."""
    if count == 0:
        return 0
    seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
    step = conn.execute("SELECT increment_by FROM pg_sequences WHERE format('%%I.%%I', schemaname, sequencename) "
                        "= %s OR sequencename = %s", [seq, seq.split(".")[-1]]).fetchone()[0]
    conn.execute("SELECT nextval(%s)", [seq])  # a fresh sequence's first nextval() ignores the increment
    conn.execute(f"ALTER SEQUENCE {seq} INCREMENT BY {int(count)}")
    try:
        last = conn.execute("SELECT nextval(%s)", [seq]).fetchone()[0]
    finally:
        conn.execute(f"ALTER SEQUENCE {seq} INCREMENT BY {int(step)}")
    return last - count + 1


def contract_plan(accounts: int, today: dt.date, seed: int) -> tuple[list[tuple[str, str, str]], dict[int, int]]:
    """(number, start, end) of each account's active contract, numbered HT<year>-NNNNN per start year."""
    per_year: dict[int, int] = {}
    rows = []
    for j in range(accounts):
        start = today - dt.timedelta(days=30 + int(unit(j, 11 + seed) * 600))
        years = 1 if (today - start).days < 300 else 2
        end = start.replace(year=start.year + years) if not (start.month == 2 and start.day == 29) else \
            start.replace(year=start.year + years, day=28)
        per_year[start.year] = per_year.get(start.year, 0) + 1
        rows.append((f"HT{start.year}-{per_year[start.year]:05d}", start.isoformat(), end.isoformat()))
    return rows, per_year


def ensure_tenant_and_staff(code: str, managers: int):
    """The benchmark tenant (platform_tenant_create), `managers` sales-manager logins."""
    from tenancy.models import Branch, BranchKind, Membership, Tenant, User
    from tenancy.scoping import tenant_scope
    from tenancy.services import platform_tenant_create

    tenant = Tenant.objects.filter(code=code).first()
    if tenant is None:
        tenant = platform_tenant_create(code=code, name="Benchmark customers", name_en="Benchmark customers",
                                        province="上海市", city="浦东新区")
    with tenant_scope(tenant):
        hq = Branch.objects.get(kind=BranchKind.HQ)
        owners = []
        for n in range(1, managers + 1):
            username = SALES_USERNAME.format(n)
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, None, display_name=f"销售经理{n:02d}",
                                                home_tenant=tenant, last_active_tenant=tenant)
            membership = Membership.objects.filter(user=user).first()
            if membership is None:
                membership = Membership(user=user, role="sales_manager", branch=hq, title="大客户经理")
                membership.save()
            owners.append(membership.pk)
    return tenant, owners


def tenant_keys(tenant_id: int) -> tuple[int, bytes, bytes]:
    from tenancy.crypto import keyring

    data_version = keyring.active_version(tenant_id, "data")
    index_version = keyring.active_version(tenant_id, "index")
    return (data_version, keyring.key(tenant_id, "data", data_version),
            keyring.key(tenant_id, "index", index_version))


def referencing_tables(conn) -> list[str]:
    """Tables with a foreign key to customers_customer or its children (what --reset must empty)."""
    rows = conn.execute("""
        WITH RECURSIVE refs(tbl) AS (
            SELECT 'customers_customer'::regclass
            UNION
            SELECT c.conrelid::regclass FROM pg_constraint c JOIN refs ON c.confrelid = refs.tbl
            WHERE c.contype = 'f' AND c.conrelid <> c.confrelid
        ) SELECT tbl::text FROM refs""").fetchall()
    return [r[0] for r in rows]


def reset(conn, tenant_id: int) -> float:
    """Delete the tenant's customer data (children first; the foreign keys are deferrable, so a
    cycle is checked at commit), under RLS for this tenant."""
    start = time.perf_counter()
    tables = referencing_tables(conn)
    graph = {t: {r[0] for r in conn.execute(
        "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f' AND confrelid <> conrelid", [t]).fetchall()} for t in tables}
    order = []
    remaining = set(tables)
    while remaining:  # a table goes after every table that references it
        ready = sorted(t for t in remaining if not any(t in graph[o] for o in remaining if o != t))
        ready = ready or sorted(remaining)  # a cycle (lead ↔ opportunity): the checks are deferred
        order += ready
        remaining -= set(ready)
    with conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in order:
            conn.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant_id])  # noqa: S608
    return time.perf_counter() - start


def role_bypasses_rls(conn) -> bool:
    return bool(conn.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
                .fetchone()[0])


def backend_cpu(conn) -> float:
    """user + system CPU seconds of the workers' PostgreSQL backends (from /proc)."""
    from .bench_api_list import cpu_seconds

    pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                                       "AND datname = current_database()", [APP_NAME]).fetchall()]
    return cpu_seconds(pids)


def run_phase(pool, conn, name: str, size: int, chunk: int) -> dict:
    start = time.perf_counter()
    db_cpu = backend_cpu(conn)
    tasks = [(name, a, min(a + chunk, size)) for a in range(0, size, chunk)]
    rows, py, db, cpu = 0, 0.0, 0.0, 0.0
    for _, n, built, copied, used in pool.imap_unordered(_run_chunk, tasks):
        rows += n
        py += built
        db += copied
        cpu += used
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "chunks": len(tasks), "worker_generate_s": py, "worker_db_s": db,
            "worker_cpu_s": cpu, "db_cpu_s": backend_cpu(conn) - db_cpu}


def verify(tenant, plan: Plan, checks: int = 5) -> list[str]:
    """Read rows back through the ORM as the application role: decrypts, blind index lookup."""
    from customers.models import Contact, Customer, CustomerPhone
    from customers.selectors.records import _phone_customer_ids
    from tenancy.crypto import blind_index
    from tenancy.normalize import normalize_phone
    from tenancy.scoping import tenant_scope

    notes = []
    rng = random.Random(plan.seed)
    with tenant_scope(tenant):
        for _ in range(checks):
            k = rng.randrange(plan.total)
            phone = CustomerPhone.objects.filter(customer_id=plan.customer_base + k).order_by("id").first()
            expected = phone_e164(2 * k, plan.seed)
            assert phone.phone == expected == normalize_phone(expected[3:]), (phone.phone, expected)
            assert phone.phone_bidx == blind_index(expected, tenant_id=tenant.pk, kind="phone")
            assert plan.customer_base + k in _phone_customer_ids(expected[3:])
            customer = Customer.objects.get(pk=plan.customer_base + k)
            _ = customer.email, customer.id_number, [a.street for a in customer.addresses.all()]
        contact = Contact.objects.order_by("id").first()
        assert contact.phone.startswith("+86") and "@" in contact.email
        notes.append(f"{checks} customers read back (phones, email, ID number, streets decrypt; lookup by phone "
                     "finds them); contact phone/email decrypt")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--db", default=DEFAULT_DB, help="benchmark database (default %(default)s)")
    parser.add_argument("--database-url", default="",
                        help="connection for the COPY workers (default: DATABASE_OWNER_URL of .data/env, --db)")
    parser.add_argument("--tenant", default=TENANT_CODE, help="tenant code (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=20_000, help="rows (customers / accounts) per transaction")
    parser.add_argument("--days", type=int, default=90, help="days of daily volume per account")
    parser.add_argument("--activities", type=float, default=8, help="mean follow-ups per account")
    parser.add_argument("--managers", type=int, default=SALES_MANAGERS, help="sales managers owning the accounts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true", help="delete the tenant's customer data first")
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only (no VACUUM) after loading")
    args = parser.parse_args()
    if args.persons < 0 or args.accounts < 1 or args.workers < 1 or args.chunk < 100 or args.persons > 50_000_000:
        parser.error("--persons in [0, 5e7], --accounts ≥ 1, --workers ≥ 1, --chunk ≥ 100")

    import psycopg

    env = setup_django(args.db)
    dsn = args.database_url or env["DATABASE_OWNER_URL"]
    from django.db import connections

    from tenancy.normalize import normalize_phone
    from tenancy.scoping import tenant_scope
    from tenancy.services import number_sequence_raise_to

    for serial in range(len(MOBILE_PREFIXES) * 3):
        phone = phone_e164(serial * 7919, args.seed)
        assert normalize_phone(phone) == phone, phone

    t0 = time.perf_counter()
    tenant, owners = ensure_tenant_and_staff(args.tenant, args.managers)
    with tenant_scope(tenant):
        from customers.models import Customer

        existing = Customer.objects.exists()
        data_version, data_key, index_key = tenant_keys(tenant.pk)
    setup_s = time.perf_counter() - t0
    conn = psycopg.connect(dsn, autocommit=True)
    reset_s = None
    if existing:
        if not args.reset:
            sys.exit(f"tenant {args.tenant} already has customers: pass --reset to delete and reload them "
                     "(or recreate the database, see benchmarks/README.md)")
        print(f"--reset: deleting tenant {args.tenant}'s customer data ...", flush=True)
        reset_s = reset(conn, tenant.pk)
        print(f"  deleted in {reset_s:.1f} s (not part of the load time)")
    direct = role_bypasses_rls(conn)
    role = conn.execute("SELECT current_user").fetchone()[0]
    today = dt.date.today()
    total = args.persons + args.accounts
    contracts, per_year = contract_plan(args.accounts, today, args.seed)

    load_start = os.getloadavg()
    t_load = time.perf_counter()
    reserve_start = time.perf_counter()
    plan = Plan(
        dsn=dsn, direct_copy=direct, tenant_id=tenant.pk, seed=args.seed, persons=args.persons,
        accounts=args.accounts, days=args.days, activities=args.activities, chunk=args.chunk,
        customer_base=reserve_ids(conn, "customers_customer", total),
        phone_base=reserve_ids(conn, "customers_customerphone", 2 * total),
        address_base=reserve_ids(conn, "customers_address", 2 * total),
        contact_base=reserve_ids(conn, "customers_contact", 3 * args.accounts),
        contract_base=reserve_ids(conn, "customers_contract", args.accounts),
        owners=tuple(owners), data_version=data_version, data_key=data_key, index_key=index_key,
        today=today.isoformat(), contracts=tuple(contracts),
    )
    reserve_s = time.perf_counter() - reserve_start
    print(f"generate_customers  {dt.datetime.now().isoformat(timespec='seconds')}  {_env.machine()}")
    print(f"tenant {args.tenant} (id {tenant.pk}), {args.persons:,} persons + {args.accounts:,} accounts; "
          f"{args.workers} workers, {args.chunk:,} rows per chunk; loading as {role} "
          f"({'direct COPY' if direct else 'COPY into a temp table + INSERT ... SELECT, RLS applies'})")
    print(f"  {'table':<32}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'CPU s: workers':>15}{'database':>9}")

    connections.close_all()  # the forked workers must not share the parent's connection
    phases = (("customers", "customers_customer", total), ("phones", "customers_customerphone", total),
              ("addresses", "customers_address", total), ("contacts", "customers_contact", args.accounts),
              ("contracts", "customers_contract", args.accounts),
              ("lanes", "customers_contractlane", args.accounts),
              ("daily volume", "shipments_customerdailyvolume", args.accounts),
              ("activities", "customers_activity", args.accounts))
    results: dict[str, dict] = {}
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, initializer=_worker_init, initargs=(plan,)) as pool:
        for name, table, size in phases:
            # Account-based phases use smaller chunks: an account has 2–90 rows per table.
            chunk = args.chunk if size == total else max(100, args.chunk // 20)
            res = run_phase(pool, conn, name, size, chunk)
            results[table] = res
            print(f"  {table:<32}{res['rows']:>11,}{res['seconds']:>9.1f}{res['rows'] / res['seconds']:>10,.0f}"
                  f"{res['worker_cpu_s']:>10.1f}{res['db_cpu_s']:>9.1f}", flush=True)
    load_s = time.perf_counter() - t_load

    post = time.perf_counter()
    with tenant_scope(tenant):
        number_sequence_raise_to("customer-account", args.accounts)
        number_sequence_raise_to("customer-person", args.persons)
        for year, count in per_year.items():
            number_sequence_raise_to(f"contract-{year}", count)
    numbers_s = time.perf_counter() - post
    analyze_start = time.perf_counter()
    statement = "ANALYZE" if args.no_vacuum else "VACUUM (ANALYZE)"
    from .bench_api_list import cpu_seconds

    own_backend = [conn.info.backend_pid]
    analyze_cpu = cpu_seconds(own_backend)
    for table in (*TABLES, "tenancy_membership", "tenancy_numbersequence"):
        conn.execute(f"{statement} {table}")
    analyze_s = time.perf_counter() - analyze_start
    analyze_cpu = cpu_seconds(own_backend) - analyze_cpu
    total_s = time.perf_counter() - t_load
    print(f"  {'(id reservation)':<32}{'':>11}{reserve_s:>9.1f}")
    print(f"  {'(number sequences)':<32}{'':>11}{numbers_s:>9.1f}")
    print(f"  {statement + ' of the tables':<32}{'':>11}{analyze_s:>9.1f}{'':>10}{'':>15}{analyze_cpu:>9.1f}")
    rows = sum(r["rows"] for r in results.values())
    cpu_total = sum(r["worker_cpu_s"] + r["db_cpu_s"] for r in results.values()) + analyze_cpu
    cores = min(args.workers * 2, os.cpu_count() or 2)  # each worker and its backend can run at once
    idle_estimate = sum(r["worker_cpu_s"] + r["db_cpu_s"] for r in results.values()) / cores + analyze_cpu + reserve_s
    print(f"  {'total':<32}{rows:>11,}{total_s:>9.1f}   (tenant, staff and keys before that: {setup_s:.1f} s)")
    print(f"load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f} "
          "(other work on the machine slows the load)")
    print(f"CPU used by the load: {cpu_total:.0f} s (workers + their PostgreSQL backends); on an otherwise idle "
          f"{os.cpu_count()}-core machine the load would take about {idle_estimate:.0f} s (CPU ÷ cores per phase)")

    sizes = {r[0]: r[1] for r in conn.execute(
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c WHERE c.relname = ANY(%s)",
        [list(TABLES)]).fetchall()}
    conn.close()
    notes = verify(tenant, plan)
    for note in notes:
        print(f"check: {note}")
    print(f"database size of the tables: {sum(sizes.values()) / 2**20:,.0f} MiB")
    _env.OUT.mkdir(parents=True, exist_ok=True)
    report = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "machine": _env.machine(), "database": args.db,
        "role": role, "direct_copy": direct, "tenant": args.tenant, "tenant_id": tenant.pk,
        "args": {k: v for k, v in vars(args).items() if k != "database_url"},
        "tables": results, "reserve_s": reserve_s, "numbers_s": numbers_s, "analyze_statement": statement,
        "analyze_s": analyze_s, "analyze_cpu_s": analyze_cpu, "cpu_total_s": cpu_total,
        "idle_estimate_s": idle_estimate, "load_s": load_s, "total_s": total_s, "setup_s": setup_s, "reset_s": reset_s,
        "table_bytes": sizes, "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
        "plan": {k: v for k, v in asdict(plan).items() if k not in ("dsn", "data_key", "index_key", "contracts")},
    }
    out = _env.OUT / "generate_customers.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written {Path(out).relative_to(_env.BASE_DIR)}")


if __name__ == "__main__":
    main()
