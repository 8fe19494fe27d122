import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import FormData

from psasync.web.formatting import (
    format_date,
    format_instant,
    format_iso_date,
    format_money,
    order_type_label,
    status_label,
)
from psasync.web.templating import form_id


def test_money_reads_in_the_currency_with_its_decimals() -> None:
    assert format_money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert format_money(Decimal("-33"), "usd") == "\u2212$33.00"
    assert format_money(Decimal("182"), "CHF") == "CHF 182.00"
    assert format_money(Decimal("7"), "JPY", 0) == "¥7"


def test_money_never_hides_digits_an_amount_has() -> None:
    assert format_money(Decimal("0.0002"), "EUR") == "€0.0002"


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False),
    st.sampled_from(["USD", "EUR", "CAD", "SEK"]),
)
def test_money_shows_exactly_the_amount(amount: Decimal, currency: str) -> None:
    shown = format_money(amount, currency)
    digits = "".join(ch for ch in shown if ch.isdigit() or ch == ".")
    value = Decimal(digits) * (-1 if shown.startswith("\u2212") else 1)
    assert value == amount


def test_dates_spell_the_month() -> None:
    assert format_date(dt.date(2026, 11, 4)) == "4 Nov 2026"
    assert format_date(None) == ""
    assert format_iso_date("2026-12-01") == "1 Dec 2026"
    assert format_iso_date("") == "—"
    assert format_iso_date("soon") == "soon"


def test_instants_show_in_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert format_instant(dt.datetime(2026, 11, 24, 14, 5, tzinfo=plus_two)) == (
        "24 Nov 2026, 12:05 UTC"
    )
    assert format_instant(None) == ""


def test_labels() -> None:
    assert order_type_label("change") == "Change Order"
    assert status_label("synced") == "Synced"


def test_a_form_id_is_ascii_digits_within_a_record_id() -> None:
    form = FormData(
        [("ok", " 260 "), ("super", "²"), ("zero", "0"), ("huge", "9" * 12), ("word", "abc")]
    )
    assert form_id(form, "ok") == 260
    for name in ("super", "zero", "huge", "word", "absent"):
        assert form_id(form, name) is None
