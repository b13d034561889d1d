"""A small, fully learnable translation task with real reordering: calendar dates written by CLDR
(the Unicode locale data, via `babel`) in English and in French or Chinese.

    "Friday, February 15, 2019"  →  "vendredi 15 février 2019"     (fr: day and month swap)
    "Friday, February 15, 2019"  →  "2019年2月15日星期五"            (zh: year first, weekday last)

Every pair is generated from a date, so train and test are split *by date*: a test date never appears
in training in any format or language. Same seed → same pairs on every machine (with the pinned babel).
"""
from __future__ import annotations

import datetime
import random

DATE_FORMATS = ("full", "long", "medium")          # CLDR names: with weekday, month name, abbreviated
TARGET_LOCALES = {"fr": "fr_FR", "zh": "zh_CN"}
SOURCE_LOCALE = "en_US"


def format_date(date: datetime.date, fmt: str, locale: str) -> str:
    """One date written the way `locale` writes it in CLDR format `fmt` ("full", "long", "medium")."""
    from babel.dates import format_date as babel_format_date

    if fmt not in DATE_FORMATS:
        raise ValueError(f"fmt must be one of {DATE_FORMATS}, got {fmt!r}")
    return babel_format_date(date, fmt, locale=locale)


def date_pair(date: datetime.date, fmt: str, target: str = "fr", tag: bool = False) -> tuple[str, str]:
    """(English, target-language) rendering of one date. With tag=True the source starts with the target
    language, e.g. "fr: Friday, February 15, 2019" — one model can then translate into both languages."""
    if target not in TARGET_LOCALES:
        raise ValueError(f"target must be one of {sorted(TARGET_LOCALES)}, got {target!r}")
    source = format_date(date, fmt, SOURCE_LOCALE)
    return (f"{target}: {source}" if tag else source), format_date(date, fmt, TARGET_LOCALES[target])


def split_dates(first_year: int = 1900, last_year: int = 2099, n_test: int = 500,
                seed: int = 0) -> tuple[list[datetime.date], list[datetime.date]]:
    """All days from 1 Jan `first_year` to 31 Dec `last_year`, shuffled with `seed`, as (train, test):
    the last `n_test` shuffled days are held out."""
    if last_year < first_year:
        raise ValueError(f"last_year must be ≥ first_year, got {first_year} and {last_year}")
    start, end = datetime.date(first_year, 1, 1), datetime.date(last_year, 12, 31)
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    if not 0 < n_test < len(days):
        raise ValueError(f"n_test must be in [1, {len(days) - 1}] for {len(days)} days, got {n_test}")
    random.Random(seed).shuffle(days)
    return days[:-n_test], days[-n_test:]


def date_pairs(dates: list[datetime.date], n: int | None = None, targets: tuple[str, ...] = ("fr",),
               seed: int = 0) -> list[tuple[str, str]]:
    """`n` pairs (default: one per date) from randomly chosen dates, formats and target languages.
    With more than one target, sources carry a language tag ("fr: …", "zh: …")."""
    if not dates:
        raise ValueError("dates must not be empty")
    for t in targets:
        if t not in TARGET_LOCALES:
            raise ValueError(f"targets must be chosen from {sorted(TARGET_LOCALES)}, got {t!r}")
    rng = random.Random(seed)
    tag = len(targets) > 1
    chosen = dates if n is None else [rng.choice(dates) for _ in range(n)]
    return [date_pair(d, rng.choice(DATE_FORMATS), rng.choice(targets), tag) for d in chosen]
