"""Exports open safely in a spreadsheet and always say what their columns are."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from sqlmodel import Session

from bot.stages.exports import COLUMNS, EXPORTS, write


def test_an_empty_export_still_has_its_header(engine):
    with Session(engine) as session:
        for name, rows_of in EXPORTS.items():
            out = io.StringIO()
            write(rows_of(session), "csv", out, COLUMNS[name])
            assert out.getvalue().strip() == ",".join(COLUMNS[name])


def test_text_users_wrote_cannot_run_as_a_formula_and_money_stays_exact():
    out = io.StringIO()
    rows = [{"title": "=HYPERLINK(\"http://evil\")", "reason": "@SUM(A1)", "amount": Decimal("4144.7"), "reference": "EFT-1"}]
    write(rows, "csv", out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["title"].startswith("'=") and row["reason"].startswith("'@")
    assert row["amount"] == "4144.70" and row["reference"] == "EFT-1"


def test_every_export_row_has_exactly_its_columns(harness, sim):
    from tests.flows import bid, open_opportunity, register

    number = open_opportunity(harness)
    register(harness, number, "bob")
    bid(harness, number, "bob", "9000")
    with Session(harness.engine) as session:
        rows = EXPORTS["proposals"](session)
    assert rows and all(list(r) == COLUMNS["proposals"] for r in rows)
