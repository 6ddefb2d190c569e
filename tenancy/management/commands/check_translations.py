"""Fail when the Simplified Chinese catalogue is incomplete or its compiled .mo is stale.

Every UI string goes through gettext and zh-hans is the default language, so an entry left empty
or marked fuzzy in locale/zh_Hans/LC_MESSAGES/django.po shows up as English to Chinese users, and
a django.mo not recompiled after editing the .po silently serves old text. This command checks
both without third-party libraries: it parses the .po itself and reads the .mo through
:class:`gettext.GNUTranslations`, the same reader Django uses.
"""
from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

CATALOGUE_DIR = Path("zh_Hans") / "LC_MESSAGES"
MAX_SHOWN = 20

_KEYWORD_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$')
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class PoSyntaxError(ValueError):
    """The .po file has a line this small parser does not understand."""


@dataclass
class PoEntry:
    """One message of a .po file; ``msgstr_plural`` is filled instead of ``msgstr`` for plurals."""

    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def is_plural(self) -> bool:
        return self.msgid_plural is not None

    @property
    def is_fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def is_translated(self) -> bool:
        if self.is_plural:
            return 0 in self.msgstr_plural and all(self.msgstr_plural.values())
        return self.msgstr != ""

    @property
    def label(self) -> str:
        if self.is_header:
            return "(header)"
        return repr(self.msgid) if self.msgctxt is None else f"{self.msgctxt!r} | {self.msgid!r}"


def _unquote(quoted: str, where: str) -> str:
    if len(quoted) < 2 or not (quoted.startswith('"') and quoted.endswith('"')):
        raise PoSyntaxError(f"{where}: expected a double-quoted string")
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), quoted[1:-1])


class _PoParser:
    """Line-by-line reader of the subset of the PO format that xgettext/msgmerge write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[PoEntry] = []
        self.current = PoEntry()
        self.key: tuple[str, int | None] | None = None  # field that continuation lines extend
        self.seen_msgid = False
        self.seen_msgstr = False

    def parse(self) -> list[PoEntry]:
        text = self.path.read_text(encoding="utf-8")
        for lineno, raw in enumerate(text.splitlines(), start=1):
            self._line(raw.strip(), f"{self.path}:{lineno}")
        self._finish(f"{self.path}:end")
        return self.entries

    def _line(self, line: str, where: str) -> None:
        if not line:
            self.key = None
        elif line.startswith("#"):
            self._comment(line, where)
        elif line.startswith('"'):
            if self.key is None:
                raise PoSyntaxError(f"{where}: string continuation outside a msgid/msgstr")
            self._append(self.key, _unquote(line, where))
        else:
            match = _KEYWORD_LINE.match(line)
            if match is None:
                raise PoSyntaxError(f"{where}: cannot parse {line!r}")
            keyword, index, quoted = match.groups()
            self._keyword(keyword, None if index is None else int(index), _unquote(quoted, where), where)

    def _comment(self, line: str, where: str) -> None:
        if self.seen_msgstr:
            self._finish(where)
        self.key = None
        if line.startswith("#~"):
            # An obsolete entry: ignore it, with any flags collected for it.
            self.current = PoEntry()
        elif line.startswith("#,"):
            self.current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())

    def _keyword(self, keyword: str, index: int | None, value: str, where: str) -> None:
        if keyword in ("msgctxt", "msgid") and self.seen_msgstr:
            self._finish(where)
        if (index is not None) != (keyword == "msgstr" and self.current.is_plural):
            raise PoSyntaxError(f"{where}: {keyword}{'' if index is None else f'[{index}]'} "
                                "does not match whether the entry has msgid_plural")
        if keyword == "msgid":
            self.seen_msgid = True
        elif keyword == "msgstr":
            if not self.seen_msgid:
                raise PoSyntaxError(f"{where}: msgstr without msgid")
            self.seen_msgstr = True
        self.key = (keyword, index)
        self._append(self.key, value, start=True)

    def _append(self, key: tuple[str, int | None], value: str, start: bool = False) -> None:
        keyword, index = key
        entry = self.current
        if keyword == "msgstr" and index is not None:
            entry.msgstr_plural[index] = ("" if start else entry.msgstr_plural[index]) + value
        else:
            previous = "" if start else (getattr(entry, keyword) or "")
            setattr(entry, keyword, previous + value)

    def _finish(self, where: str) -> None:
        if self.seen_msgid and not self.seen_msgstr:
            raise PoSyntaxError(f"{where}: entry {self.current.msgid!r} has no msgstr")
        if self.seen_msgstr:
            self.entries.append(self.current)
        self.current = PoEntry()
        self.key = None
        self.seen_msgid = self.seen_msgstr = False


def parse_po(path: Path) -> list[PoEntry]:
    """Return the non-obsolete entries of a .po file, the header (msgid "") included."""
    return _PoParser(path).parse()


def po_problems(entries: list[PoEntry]) -> list[str]:
    """Entries that are fuzzy or have an empty translation."""
    problems = []
    for entry in entries:
        if entry.is_fuzzy:
            problems.append(f"fuzzy: {entry.label}")
        elif not entry.is_header and not entry.is_translated:
            problems.append(f"untranslated: {entry.label}")
    return problems


def mo_problems(entries: list[PoEntry], mo_path: Path) -> list[str]:
    """Translated .po entries that the compiled .mo does not return as written."""
    if not mo_path.exists():
        return [f"{mo_path} is missing; run compilemessages"]
    try:
        with mo_path.open("rb") as fp:
            catalogue = gettext.GNUTranslations(fp)
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{mo_path} cannot be read ({exc}); run compilemessages"]
    problems = []
    for entry in entries:
        if entry.is_header or entry.is_fuzzy or not entry.is_translated:
            continue
        plural = entry.msgid_plural
        if plural is not None:
            expected = entry.msgstr_plural[0]
            if entry.msgctxt is None:
                actual = catalogue.ngettext(entry.msgid, plural, 1)
            else:
                actual = catalogue.npgettext(entry.msgctxt, entry.msgid, plural, 1)
        else:
            expected = entry.msgstr
            if entry.msgctxt is None:
                actual = catalogue.gettext(entry.msgid)
            else:
                actual = catalogue.pgettext(entry.msgctxt, entry.msgid)
        if actual != expected:
            problems.append(f"stale in django.mo: {entry.label}")
    return problems


class Command(BaseCommand):
    help = ("Check that the zh_Hans catalogue has no empty or fuzzy entries and that django.mo "
            "is compiled from the current django.po.")

    def handle(self, *args: object, **options: object) -> None:
        folder = Path(settings.LOCALE_PATHS[0]) / CATALOGUE_DIR
        po_path = folder / "django.po"
        if not po_path.exists():
            raise CommandError(f"{po_path} is missing; run makemessages -l zh_Hans")
        try:
            entries = parse_po(po_path)
        except PoSyntaxError as exc:
            raise CommandError(str(exc)) from exc

        problems = po_problems(entries) + mo_problems(entries, folder / "django.mo")
        if problems:
            shown = "\n".join(f"  {problem}" for problem in problems[:MAX_SHOWN])
            more = len(problems) - MAX_SHOWN
            tail = f"\n  … and {more} more" if more > 0 else ""
            raise CommandError(f"zh_Hans translations incomplete ({len(problems)} problems):\n{shown}{tail}")

        count = sum(1 for entry in entries if not entry.is_header)
        self.stdout.write(self.style.SUCCESS(f"translations complete: {count} entries"))
