"""Knowledge-base search that works for Chinese text (no spaces between words) in SQL.

Index (`KbArticleGram`, one row per article × gram): the character unigrams and bigrams of an
article's *published* title and body, with how often each occurs in the title and in the body.
Text is normalised like customers.search (NFKC, lower case) and cut into runs — a run of CJK
characters, or a run of other letters/digits (a Latin word, a number, "sf1234") — so a bigram
never spans punctuation, a space or a change of script: "顺丰SF速运" gives 顺丰 | sf | 速运, and a
waybill prefix such as "SF" is found as the bigram "sf". One more row per article, the gram
`#` (never a real gram: "#" is punctuation), carries the lengths of its title and body for
BM25's length normalisation and the count of indexed articles.

Query: BM25 over the query's distinct bigrams (a one-character run counts as its unigram):
    score = Σ idf(g) · tf'(g)·(k1+1) / (tf'(g) + k1·(1 − b + b·dl/avgdl)),   tf' = body + W·title
an article must contain a minimum share of the query's grams; articles containing every gram
(a likely phrase match) and those whose title contains every gram get a bonus, and among the best
candidates a title that contains a query run literally gets another. One SQL statement, all on
the b-tree index (tenant, gram, article) INCLUDE (title_hits, body_hits): under row-level
security only LEAKPROOF operators such as text `=` use an index, so there are no arrays or
trigram operators here."""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tenancy.scoping import current_tenant_id

LENGTH_GRAM = "#"
TITLE_WEIGHT = 3          # a title occurrence counts as this many body occurrences
K1 = 1.2
B = 0.75
ALL_GRAMS_BONUS = 1.25    # every query gram occurs in the article
TITLE_GRAMS_BONUS = 1.6   # every query gram occurs in the title
TITLE_PHRASE_BONUS = 1.5  # the title contains every query run literally
MAX_QUERY_GRAMS = 40      # longer queries are cut (a ticket description is not a query)
RERANK_POOL = 100         # candidates the title / ticket-category bonuses are applied to

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RUN = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_WS = re.compile(r"\s+")


def runs(text: str) -> list[str]:
    """The normalised runs of `text`: CJK runs and runs of other letters/digits."""
    return _RUN.findall(unicodedata.normalize("NFKC", text or "").lower())


def gram_counts(text: str) -> Counter:
    """How often each unigram and bigram occurs in `text` (within runs)."""
    counts: Counter = Counter()
    for run in runs(text):
        counts.update(run)
        counts.update(run[i:i + 2] for i in range(len(run) - 1))
    return counts


def text_length(text: str) -> int:
    return sum(len(r) for r in runs(text))


def query_grams(query: str) -> list[str]:
    """The distinct grams a query is matched by: bigrams of each run, a one-character run as itself."""
    grams: list[str] = []
    seen = set()
    for run in runs(query):
        for gram in ([run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]):
            if gram not in seen:
                seen.add(gram)
                grams.append(gram)
    return grams[:MAX_QUERY_GRAMS]


# --- the index -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexedText:
    article_id: int
    title: str
    body: str


def index_rows(doc: IndexedText) -> list[tuple[int, str, int, int]]:
    """(article_id, gram, title_hits, body_hits) rows of one article, with the length row."""
    title, body = gram_counts(doc.title), gram_counts(doc.body)
    rows = [(doc.article_id, g, min(title.get(g, 0), 32767), body.get(g, 0)) for g in title.keys() | body.keys()]
    rows.append((doc.article_id, LENGTH_GRAM, min(text_length(doc.title), 32767), text_length(doc.body)))
    return rows


def index_replace(docs: Iterable[IndexedText]) -> int:
    """Replace the index rows of these articles (current tenant) with those of the given text;
    returns the rows written. Call inside the transaction that publishes the text."""
    docs = list(docs)
    if not docs:
        return 0
    index_remove([d.article_id for d in docs])
    rows = [row for d in docs for row in index_rows(d)]
    _insert(rows)
    return len(rows)


def index_remove(article_ids: Iterable[int]) -> None:
    """Drop the index rows of these articles (archived: no longer found)."""
    from .models import KbArticleGram

    ids = list(article_ids)
    if ids:
        KbArticleGram.objects.filter(article_id__in=ids).delete()


def _insert(rows: list[tuple[int, str, int, int]], chunk: int = 50_000) -> None:
    from .models import KbArticleGram

    table = KbArticleGram._meta.db_table
    tenant_id = current_tenant_id()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, article_id, gram, title_hits, body_hits) "
                "SELECT %s, a, g, t, b FROM unnest(%s::bigint[], %s::varchar[], %s::smallint[], %s::int[]) "
                "AS u(a, g, t, b)",
                [tenant_id, [r[0] for r in part], [r[1] for r in part], [r[2] for r in part],
                 [r[3] for r in part]])


# --- the query -----------------------------------------------------------------------------------

def min_matches(count: int, share: float) -> int:
    """How many of `count` query grams an article must contain: all of one or two, else the share."""
    if count <= 2:
        return count
    return max(2, math.ceil(count * share))


def search(query: str, *, limit: int = 10, offset: int = 0, min_share: float = 0.6,
           category_id: int | None = None, ticket_category: str = "",
           ticket_category_boost: float = 1.5) -> list[tuple[int, float]]:
    """(article id, score) of the published articles best matching `query`, best first.

    `category_id` keeps one knowledge-base category; `ticket_category` multiplies the score of
    articles written for that ticket category by `ticket_category_boost` (suggestions)."""
    grams = query_grams(query)
    if not grams or limit <= 0:
        return []
    from .models import KbArticle, KbArticleGram

    grams_table, articles_table = KbArticleGram._meta.db_table, KbArticle._meta.db_table
    params = {
        "tenant": current_tenant_id(), "grams": grams, "nq": len(grams), "need": min_matches(len(grams), min_share),
        "w": TITLE_WEIGHT, "k1": K1, "b": B, "len": LENGTH_GRAM, "runs": [r for r in runs(query) if len(r) > 1]
        or runs(query), "tc": ticket_category or "", "tcb": ticket_category_boost, "pool": max(RERANK_POOL,
                                                                                                 offset + limit),
        "limit": limit, "offset": offset, "cat": category_id,
        "all_b": ALL_GRAMS_BONUS, "title_b": TITLE_GRAMS_BONUS, "phrase_b": TITLE_PHRASE_BONUS,
    }
    category_join = ""
    if category_id is not None:
        category_join = (f"JOIN {articles_table} c ON c.id = s.article_id AND c.tenant_id = %(tenant)s "
                         "AND c.category_id = %(cat)s")
    sql = f"""
        WITH hits AS MATERIALIZED (
            SELECT g.article_id, g.gram, g.title_hits, (g.body_hits + %(w)s * g.title_hits)::float8 AS tf
            FROM {grams_table} g
            WHERE g.tenant_id = %(tenant)s AND g.gram = ANY(%(grams)s::varchar[])
        ), lengths AS MATERIALIZED (
            SELECT article_id, (body_hits + %(w)s * title_hits)::float8 AS dl
            FROM {grams_table} WHERE tenant_id = %(tenant)s AND gram = %(len)s
        ), totals AS (
            SELECT count(*)::float8 AS n, greatest(coalesce(avg(dl), 1), 1) AS avgdl FROM lengths
        ), idf AS (
            SELECT h.gram, ln(1 + (t.n - count(*) + 0.5) / (count(*) + 0.5)) AS idf
            FROM hits h CROSS JOIN totals t GROUP BY h.gram, t.n
        ), scored AS (
            SELECT h.article_id,
                   sum(i.idf * h.tf * (%(k1)s + 1) / (h.tf + %(k1)s * (1 - %(b)s + %(b)s * l.dl / t.avgdl))) AS bm25,
                   count(*) AS matched,
                   count(*) FILTER (WHERE h.title_hits > 0) AS in_title
            FROM hits h
            JOIN idf i USING (gram)
            JOIN lengths l USING (article_id)
            CROSS JOIN totals t
            GROUP BY h.article_id
            HAVING count(*) >= %(need)s
        ), pool AS (
            SELECT s.article_id,
                   s.bm25 * CASE WHEN s.matched = %(nq)s THEN %(all_b)s ELSE 1 END
                          * CASE WHEN s.in_title = %(nq)s THEN %(title_b)s ELSE 1 END AS score
            FROM scored s {category_join}
            ORDER BY score DESC, s.article_id DESC
            LIMIT %(pool)s
        )
        SELECT p.article_id,
               p.score * CASE WHEN (SELECT bool_and(strpos(lower(a.title), r) > 0)
                                    FROM unnest(%(runs)s::text[]) r) THEN %(phrase_b)s ELSE 1 END
                       * CASE WHEN a.ticket_category = %(tc)s AND %(tc)s <> '' THEN %(tcb)s ELSE 1 END AS score
        FROM pool p JOIN {articles_table} a ON a.id = p.article_id AND a.tenant_id = %(tenant)s
        ORDER BY score DESC, p.article_id DESC
        LIMIT %(limit)s OFFSET %(offset)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


# --- showing a match -----------------------------------------------------------------------------

def _pattern(text: str, query: str) -> re.Pattern | None:
    """A regex of what to mark in `text`: each query run found literally, else its bigrams."""
    lowered = text.lower()
    terms: set[str] = set()
    for run in runs(query):
        if run in lowered or len(run) == 1:
            terms.add(run)
        else:
            terms.update(run[i:i + 2] for i in range(len(run) - 1))
    terms = {t for t in terms if t}
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)


def _marked(text: str, pattern: re.Pattern | None) -> SafeString:
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last:match.start()]))
        out.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


def highlight(text: str, query: str) -> SafeString:
    """`text` escaped, with what matches the query in <mark>."""
    return _marked(text or "", _pattern(text or "", query) if query else None)


def snippet(text: str, query: str = "", width: int = 140) -> SafeString:
    """About `width` characters of `text` around the first match of the query (or its start),
    whitespace collapsed, matches in <mark>."""
    flat = _WS.sub(" ", text or "").strip()
    pattern = _pattern(flat, query) if query else None
    start = 0
    if pattern is not None:
        first = pattern.search(flat)
        if first is not None:
            start = max(0, first.start() - width // 4)
    piece = flat[start:start + width]
    marked = _marked(piece, pattern)
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + width < len(flat) else ""
    return mark_safe(f"{prefix}{marked}{suffix}")  # noqa: S308 - _marked escaped the text
