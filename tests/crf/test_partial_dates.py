"""Partial dates: parsing and comparisons (no database)."""

import datetime as dt

import pytest

from crf.partial_dates import age_range, parse_partial_date, surely_after, surely_before


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2025-02", dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
        ("2025-03-07", dt.date(2025, 3, 7), dt.date(2025, 3, 7)),
    ],
)
def test_parse_gives_the_range_of_days(text, earliest, latest) -> None:
    parsed = parse_partial_date(text)
    assert (parsed.earliest, parsed.latest) == (earliest, latest)
    assert parsed.is_complete == (earliest == latest)


@pytest.mark.parametrize("text", ["25", "2025-13", "2025-02-30", "2025/03/01", "2025-3", ""])
def test_parse_refuses_malformed_dates(text) -> None:
    with pytest.raises(ValueError):
        parse_partial_date(text)


def test_a_month_straddling_the_limit_is_neither_surely_before_nor_after() -> None:
    limit = dt.date(2025, 3, 15)
    assert not surely_after("2025-03", limit)
    assert not surely_before("2025-03", limit)
    assert surely_after("2025-04", limit)
    assert surely_before("2025-02", limit)


def test_age_range_with_year_only_birth_date() -> None:
    assert age_range("1950", dt.date(2026, 6, 1)) == (75, 76)
    assert age_range("1950-07-01", dt.date(2026, 6, 30)) == (75, 75)
    assert age_range("1950-07-01", dt.date(2026, 7, 1)) == (76, 76)
