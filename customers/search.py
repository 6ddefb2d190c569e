"""Name search that works for Chinese text without a locale-dependent tokenizer.

Every customer name is stored with its character unigrams and bigrams (`search_grams`, GIN
indexed). A query's bigrams (or its single character) must all be present — an index lookup —
and the candidates are then confirmed with a substring match. pg_trgm would need a database
locale that classifies CJK characters as letters; this works on any locale."""
from __future__ import annotations

import re
import unicodedata

_NOISE = re.compile(r"[\s\-_.,，。、·()（）【】\[\]/\\'\"“”‘’:：;；!！?？&@#*+]+")


def normalize_for_search(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())


def name_grams(text: str) -> list[str]:
    """Unigrams and bigrams of the normalised name, sorted and unique (what is stored)."""
    s = normalize_for_search(text)
    grams = set(s) | {s[i:i + 2] for i in range(len(s) - 1)}
    return sorted(grams)


def query_grams(query: str) -> list[str]:
    """The grams a name must contain to match `query` as a substring."""
    s = normalize_for_search(query)
    if len(s) <= 1:
        return [s] if s else []
    return sorted({s[i:i + 2] for i in range(len(s) - 1)})


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two names' bigram sets (0–1), for duplicate detection."""
    sa, sb = normalize_for_search(a), normalize_for_search(b)
    ga = {sa[i:i + 2] for i in range(len(sa) - 1)} or {sa}
    gb = {sb[i:i + 2] for i in range(len(sb) - 1)} or {sb}
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)
