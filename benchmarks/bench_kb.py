"""Knowledge-base search benchmark: 10,000 Chinese articles in one tenant (plus 2,000 in a second
tenant), then kb_search latency for realistic agent queries.

    .venv/bin/python -m benchmarks.bench_kb [--articles 10000] [--other 2000] [--rounds 20]
        [--db courier_crm_bench_kb] [--skip-http]

Database: its own, `courier_crm_bench_kb`, created and migrated once as the owner role like the
customers benchmark's (benchmarks/README.md):

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE courier_crm_bench_kb OWNER crm_owner"
    set -a; . .data/env; set +a
    CRM_DB_AS_OWNER=1 DATABASE_URL=${DATABASE_URL%/*}/courier_crm_bench_kb \\
      DATABASE_OWNER_URL=${DATABASE_OWNER_URL%/*}/courier_crm_bench_kb REDIS_URL=redis://127.0.0.1:6379/8 \\
      .venv/bin/python manage.py migrate

Data (deterministic for --seed): articles of 300–2,000 characters mixing courier service-desk
sentences (查件, 改址, 催派, 理赔, 保价, 快递柜, 拒收 … with cities, waybill numbers such as
SF1234567890, hotlines, time limits) with varied everyday text, titles from the same vocabulary;
all published. Rows are written in bulk as the application role under row-level security (the
search index through tickets.kb_search's own writer), then `VACUUM (ANALYZE)` as the owner
(index-only scans need the visibility map; production's autovacuum keeps it).

Measured (in process, inside the tenant's scope as crm_app, warm): `selectors.kb.kb_search`
(limit 10) over --rounds passes of the query list, p50/p95/p99 overall and per query;
`kb_suggestions_for` with ticket subjects; the list page's search (200 ranked ids); and, unless
--skip-http, the pages `/kb/?q=` and `/kb/suggest/?q=` through django.test.Client (in process,
no network). EXPLAIN (ANALYZE, BUFFERS) of one query goes to out/bench_kb_explain.txt, the figures
to out/bench_kb.json. Existing articles are kept (a re-run only adds what is missing; versions are
append-only, so start again from a fresh database)."""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

from . import _env

DEFAULT_DB = os.environ.get("CRM_KB_BENCH_DB", "courier_crm_bench_kb")
TENANT, OTHER_TENANT = "bench-kb", "bench-kb-2"
TARGET_P95_MS = 50.0

# --- vocabulary ---------------------------------------------------------------------------------

CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "天津", "苏州", "郑州",
          "长沙", "青岛", "沈阳", "宁波", "昆明", "厦门", "合肥", "济南", "福州", "哈尔滨", "乌鲁木齐", "拉萨")
TOPICS = (
    ("查件", ("查询物流", "运单号", "物流轨迹", "查件", "轨迹不更新", "中转", "到达网点", "派送中")),
    ("改址", ("修改收件地址", "改址", "转寄", "地址变更", "收件人信息", "改派", "加收费用")),
    ("催派", ("催派", "派件员", "今日派送", "滞留", "网点积压", "预约派送", "电话无人接听")),
    ("破损理赔", ("外包装破损", "内件破损", "拍照留证", "理赔申请", "破损鉴定", "赔付金额", "易碎品")),
    ("丢失理赔", ("快件丢失", "丢件", "遗失", "理赔流程", "核实轨迹", "赔偿标准", "运费三倍")),
    ("投诉处理", ("投诉", "七日内处理", "告知处理结果", "升级主管", "12305申诉", "邮政管理局", "回访")),
    ("快递柜驿站", ("快递柜", "驿站", "代收点", "征得收件人同意", "未经同意投柜", "取件码", "超时保管费")),
    ("拒收退回", ("拒收", "退回寄件人", "退件", "原路返回", "退回运费", "无人签收", "地址不详")),
    ("保价赔偿", ("保价", "声明价值", "保价费", "足额赔偿", "未保价", "赔偿上限", "价值证明")),
    ("延误", ("延误", "恶劣天气", "节假日", "交通管制", "时效承诺", "延误补偿", "优惠券")),
    ("寄件", ("上门取件", "预约寄件", "实名登记", "身份证", "禁寄物品", "包装要求", "首重续重")),
    ("签收", ("签收", "代签收", "虚假签收", "本人签收", "签收底单", "签收照片", "妥投")),
    ("冷链生鲜", ("生鲜", "冷链", "保温箱", "冰袋", "变质", "时效件", "次日达")),
    ("国际件", ("国际件", "清关", "海关", "关税", "申报价值", "转运", "面单信息")),
    ("结算发票", ("月结", "到付", "发票", "对账单", "运费结算", "代收货款", "账期")),
    ("隐私面单", ("隐私面单", "虚拟号码", "个人信息", "手机号脱敏", "信息泄露", "实名查验", "授权")),
)
TITLE_FORMS = ("{t}处理流程", "{t}常见问题解答", "客户咨询{k}怎么办", "{k}的操作指引", "关于{k}的说明",
               "{c}地区{k}注意事项", "{t}：{k}与{k2}", "如何处理{k}", "{k}客服话术", "{t}规范（{c}）")
SENTENCE_FORMS = (
    "客户反映{k}时，客服应先核实运单号并查看物流轨迹，再告知客户处理方案。",
    "如遇{k}，请在系统中登记工单，并在{n}个工作小时内首次回复客户。",
    "{c}网点的{k}由网点负责人跟进，必要时升级到{c2}分拨中心。",
    "根据公司规定，{k}需要客户提供{k2}等凭证，审核通过后{n}个工作日内完成。",
    "请向客户说明{k}的规则：{k2}不收取额外费用，特殊情况除外。",
    "若客户对{k}结果不满意，可申请复核；复核仍不满意的，告知客户可拨打客服热线400-{n4}。",
    "运单号如{wb}的快件，{k}后会在轨迹中显示最新状态。",
    "{k}的常见原因包括{k2}、地址不详和联系不上收件人。",
    "客服回复模板：您好，关于您的{k}问题，我们已经记录，将在{n}小时内回复您。",
    "注意：{k}涉及客户个人信息，不得在回复中展示完整手机号和地址。",
    "{c}至{c2}的快件通常{n}天送达，遇{k}可能延长。",
    "派件员需在派送前电话联系收件人，{k}须征得收件人同意并留存记录。",
)
EVERYDAY = ("今天", "我们", "已经", "需要", "可以", "因为", "所以", "但是", "如果", "时候", "问题", "情况", "工作",
            "时间", "公司", "部门", "同事", "电话", "信息", "系统", "检查", "安排", "确认", "提供", "联系", "记录",
            "说明", "要求", "及时", "认真", "服务", "质量", "提高", "效率", "客户", "满意", "培训", "流程", "规范",
            "管理", "数据", "统计", "分析", "每周", "每月", "会议", "讨论", "方案", "改进", "措施", "落实", "责任",
            "明确", "相关", "人员", "负责", "处理", "结果", "反馈", "跟进", "及时性", "准确", "完整", "操作",
            "步骤", "首先", "然后", "最后", "另外", "同时", "特别", "重要", "注意", "避免", "发生", "再次", "出现",
            "春节", "国庆", "双十一", "高峰", "期间", "天气", "下雨", "下雪", "道路", "车辆", "司机", "仓库",
            "货架", "扫描", "称重", "打包", "分拣", "装车", "卸车", "中转站", "城市", "乡镇", "农村", "小区",
            "门卫", "物业", "写字楼", "学校", "医院", "商场", "楼层", "电梯", "楼下", "门口", "前台", "邻居")
PUNCT = ("，", "，", "，", "。", "；", "、")

QUERIES = (
    "丢件理赔", "快件丢失", "破损怎么赔", "外包装破损", "修改收件地址", "改址", "催派", "今天能送到吗", "快递柜",
    "驿站代收", "未经同意投柜", "拒收退回", "退回运费", "保价", "未保价赔偿", "投诉时限", "七日内处理", "查件",
    "物流轨迹不更新", "SF", "SF123", "生鲜冷链", "节假日延误", "隐私面单", "上门取件", "到付", "国际件清关",
    "12305申诉", "电话无人接听", "虚假签收", "赔", "客户说显示已签收但是没有收到怎么办",
)
SUBJECTS = (
    "客户投诉快递三天没有更新物流", "包裹外包装破损里面东西碎了", "要求修改收货地址到公司", "快递显示签收但本人没收到",
    "催一下今天能不能派送", "没经过同意就放快递柜了", "保价的东西丢了怎么赔", "国际件清关需要什么资料",
)


def article_text(rng: random.Random, length: int) -> str:
    parts: list[str] = []
    size = 0
    topic, words = rng.choice(TOPICS)
    while size < length:
        if rng.random() < 0.65:
            if rng.random() < 0.25:
                topic, words = rng.choice(TOPICS)
            sentence = rng.choice(SENTENCE_FORMS).format(
                k=rng.choice(words), k2=rng.choice(rng.choice(TOPICS)[1]), c=rng.choice(CITIES), c2=rng.choice(CITIES),
                n=rng.randint(1, 7), n4=rng.randint(1000, 9999), wb=f"SF{rng.randint(10**11, 10**12 - 1)}")
        else:
            n = rng.randint(4, 14)
            sentence = "".join(rng.choice(EVERYDAY) + (rng.choice(PUNCT) if rng.random() < 0.2 else "")
                               for _ in range(n)).rstrip("，；、") + "。"
        parts.append(sentence)
        size += len(sentence)
        if rng.random() < 0.12:
            parts.append("\n\n")
    return "".join(parts)[:length + 40]


def article_title(rng: random.Random) -> str:
    topic, words = rng.choice(TOPICS)
    return rng.choice(TITLE_FORMS).format(t=topic, k=rng.choice(words), k2=rng.choice(words), c=rng.choice(CITIES))


# --- data ---------------------------------------------------------------------------------------

def populate(tenant, count: int, seed: int) -> float:
    """Create `count` published articles in the current scope (bulk, as the app role)."""
    from django.db import transaction
    from django.utils import timezone

    from tickets import kb_search
    from tickets.models import ArticleStatus, KbArticle, KbArticleVersion, KbCategory, TicketCategory

    have = KbArticle.objects.count()
    if have >= count:
        print(f"  {tenant.code}: {have} articles already")
        return 0.0
    rng = random.Random(seed + have)
    started = time.perf_counter()
    categories = []
    for i, (topic, _words) in enumerate(TOPICS):
        cat, _ = KbCategory.objects.get_or_create(name=topic, defaults={"position": i})
        categories.append(cat)
    now = timezone.now()
    ticket_categories = TicketCategory.values
    batch = 500
    done = have
    while done < count:
        n = min(batch, count - done)
        with transaction.atomic():
            articles = []
            for _ in range(n):
                title = article_title(rng)
                length = int(min(2000, max(300, rng.lognormvariate(6.7, 0.5))))
                articles.append(KbArticle(
                    tenant_id=tenant.pk, category=rng.choice(categories), title=title,
                    body=article_text(rng, length), status=ArticleStatus.PUBLISHED, version=1, published_version=1,
                    ticket_category=rng.choice(ticket_categories), created_at=now, updated_at=now, published_at=now))
            KbArticle.objects.bulk_create(articles)
            KbArticleVersion.objects.bulk_create([
                KbArticleVersion(tenant_id=tenant.pk, article=a, version=1, title=a.title, body=a.body)
                for a in articles])
            rows = [row for a in articles for row in kb_search.index_rows(
                kb_search.IndexedText(a.pk, a.title, a.body))]
            kb_search._insert(rows)
        done += n
        print(f"  {tenant.code}: {done}/{count} articles, {time.perf_counter() - started:.0f} s", flush=True)
    return time.perf_counter() - started


def vacuum(env: dict) -> None:
    import psycopg

    with psycopg.connect(_dsn(env["DATABASE_OWNER_URL"]), autocommit=True) as conn:
        for table in ("tickets_kbarticlegram", "tickets_kbarticle", "tickets_kbarticleversion", "tickets_kbcategory"):
            conn.execute(f"VACUUM (ANALYZE) {table}")


def _dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


# --- measuring ----------------------------------------------------------------------------------

def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1e3

    return {"n": len(ordered), "p50_ms": round(pct(50), 2), "p95_ms": round(pct(95), 2), "p99_ms": round(pct(99), 2),
            "max_ms": round(ordered[-1] * 1e3, 2), "mean_ms": round(statistics.fmean(ordered) * 1e3, 2)}


def timed(fn, rounds: int, items) -> tuple[list[float], dict[str, list[float]]]:
    every: list[float] = []
    per: dict[str, list[float]] = {}
    for item in items:  # warm-up
        fn(item)
    for _ in range(rounds):
        for item in items:
            t0 = time.perf_counter()
            fn(item)
            dt_ = time.perf_counter() - t0
            every.append(dt_)
            per.setdefault(item, []).append(dt_)
    return every, per


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--other", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args(argv)

    from .generate_customers import setup_django

    env = setup_django(args.db)
    from django.db import connection

    from tenancy.models import Membership, Role, User
    from tickets import kb_search
    from tickets.models import KbArticle, KbArticleGram
    from tickets.selectors import kb as selectors

    print(f"{_env.machine()}; load average {os.getloadavg()[0]:.2f}")
    generated = {}
    for code, count, seed in ((TENANT, args.articles, args.seed), (OTHER_TENANT, args.other, args.seed + 1)):
        with _env.tenant_with_data(code, name=f"知识库基准 {code}") as tenant:
            generated[code] = populate(tenant, count, seed)
    if any(generated.values()):
        print("VACUUM (ANALYZE) as the owner …", flush=True)
        vacuum(env)

    results: dict = {"machine": _env.machine(), "load_start": os.getloadavg(), "generated_s": generated}
    with _env.tenant_with_data(TENANT) as tenant:
        results["articles"] = KbArticle.objects.count()
        results["index_rows"] = KbArticleGram.objects.count()
        lengths = KbArticleGram.objects.filter(gram=kb_search.LENGTH_GRAM).values_list("body_hits", flat=True)
        results["avg_body_chars"] = round(statistics.fmean(lengths), 1)
        print(f"tenant {TENANT}: {results['articles']} articles, {results['index_rows']} index rows, "
              f"average text {results['avg_body_chars']} characters")

        every, per = timed(lambda q: selectors.kb_search(q, limit=10), args.rounds, QUERIES)
        results["kb_search"] = summary(every)
        results["kb_search_per_query"] = {q: {**summary(s), "hits": len(selectors.kb_search(q, limit=10))}
                                          for q, s in per.items()}
        every, _per = timed(lambda s: selectors.kb_suggestions_for(subject=s, category="complaint", limit=5),
                            args.rounds, SUBJECTS)
        results["kb_suggestions_for"] = summary(every)
        every, _per = timed(lambda q: len(selectors.kb_article_search(q, published_only=True)),
                            max(1, args.rounds // 4), QUERIES)
        results["list_page_ranking_200"] = summary(every)
        with connection.cursor() as cursor:
            query = "外包装破损"
            captured = []
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                kb_search.search(query, limit=10)
            captured = ctx.captured_queries[-1]["sql"]
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + captured)
            plan = "\n".join(r[0] for r in cursor.fetchall())
        _env.OUT.mkdir(parents=True, exist_ok=True)
        (_env.OUT / "bench_kb_explain.txt").write_text(f"-- {query}\n{captured}\n\n{plan}\n")

    if not args.skip_http:
        from django.test import Client

        with _env.tenant_with_data(TENANT) as tenant:
            user = User.objects.filter(username="bench-kb-agent").first()
            if user is None:
                user = User.objects.create_user("bench-kb-agent", "Bench-Passw0rd-2026", display_name="知识库基准坐席",
                                                home_tenant=tenant, last_active_tenant=tenant)
                Membership.objects.create(user=user, role=Role.AGENT, title="agent")
        client = Client(HTTP_HOST="127.0.0.1")  # ALLOWED_HOSTS has no "testserver"
        client.force_login(user)

        def page(q):
            response = client.get("/kb/", {"q": q})
            assert response.status_code == 200, response.status_code

        def suggest(q):
            response = client.get("/kb/suggest/", {"q": q, "category": "complaint"})
            assert response.status_code == 200, response.status_code

        every, _per = timed(page, max(1, args.rounds // 4), QUERIES)
        results["page_kb_list_search"] = summary(every)
        every, _per = timed(suggest, max(1, args.rounds // 4), SUBJECTS)
        results["page_kb_suggest"] = summary(every)

    results["load_end"] = os.getloadavg()
    (_env.OUT / "bench_kb.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"\n{'measurement':<26}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for key in ("kb_search", "kb_suggestions_for", "list_page_ranking_200", "page_kb_list_search", "page_kb_suggest"):
        if key in results:
            r = results[key]
            print(f"{key:<26}{r['n']:>6}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}")
    print("\nper query (kb_search, limit 10):")
    for q, r in sorted(results["kb_search_per_query"].items(), key=lambda kv: -kv[1]["p95_ms"]):
        print(f"  {q:<24} hits {r['hits']:>2}  p50 {r['p50_ms']:>7}  p95 {r['p95_ms']:>7}")
    ok = results["kb_search"]["p95_ms"] <= TARGET_P95_MS
    print(f"\nkb_search p95 {results['kb_search']['p95_ms']} ms — target ≤ {TARGET_P95_MS} ms: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
