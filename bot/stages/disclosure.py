"""`devex-bot export disclosure`: the proactive-disclosure record of these contracts.

Every contract the bot makes is of $10,000 or less, so the Government of
Canada's proactive publication of it is the annual aggregate of open.canada.ca's
`contractsa` table ("Aggregated Contracts from -$10,000 to $10,000"): one
record per calendar year with the number and original value of the contracts
entered into, by commodity type. These contracts are services; the goods,
construction and acquisition-card fields are zero, and so are the amendment
values (the bot never amends a contract's value).

The field names are those of the table's published schema
(open-data/ckanext-canada, `ckanext/canada/tables/contractsa.yaml`), with
`owner_org` first as every record of the proactive-disclosure collection
carries it. `economic_object_code` is not a `contractsa` field: it follows,
for the department's own financial coding, and may be dropped before upload.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.stages import configuration
from storage import finance as finance_store

#: The ceiling of the aggregated table: contracts above it are disclosed one by one.
AGGREGATE_LIMIT = Decimal("10000.00")
ZERO = Decimal("0.00")

COLUMNS = [
    "owner_org",
    "year",
    "contract_goods_number_of",
    "contracts_goods_original_value",
    "contracts_goods_amendment_value",
    "contract_service_number_of",
    "contracts_service_original_value",
    "contracts_service_amendment_value",
    "contract_construction_number_of",
    "contracts_construction_original_value",
    "contracts_construction_amendment_value",
    "acquisition_card_transactions_number_of",
    "acquisition_card_transactions_total_value",
    "economic_object_code",
]


def _record(owner_org: str, year: int, economic_object_code: str) -> dict:
    return {
        "owner_org": owner_org,
        "year": year,
        "contract_goods_number_of": 0,
        "contracts_goods_original_value": ZERO,
        "contracts_goods_amendment_value": ZERO,
        "contract_service_number_of": 0,
        "contracts_service_original_value": ZERO,
        "contracts_service_amendment_value": ZERO,
        "contract_construction_number_of": 0,
        "contracts_construction_original_value": ZERO,
        "contracts_construction_amendment_value": ZERO,
        "acquisition_card_transactions_number_of": 0,
        "acquisition_card_transactions_total_value": ZERO,
        "economic_object_code": economic_object_code,
    }


def disclosure(session: Session, year: Optional[int] = None) -> list[dict]:
    """One record per organization, object code and calendar year of entry (the approval,
    in the opportunity's time zone): the approved awards' count and original value."""
    configs: dict[str, object] = {}
    records: dict[tuple[str, str, int], dict] = {}
    for award, opportunity in finance_store.approved_awards(session):
        if award.decided_at is None or award.amount > AGGREGATE_LIMIT:
            continue
        entered = award.decided_at.astimezone(ZoneInfo(opportunity.timezone)).year
        if year is not None and entered != year:
            continue
        if opportunity.repository not in configs:
            # An invalid file raises ConfigError: the record is not written from defaults.
            configs[opportunity.repository] = configuration.cached(session, opportunity.repository).disclosure
        settings = configs[opportunity.repository]
        key = (settings.owner_org or "", settings.economic_object_code or "", entered)
        record = records.setdefault(key, _record(key[0], entered, key[1]))
        record["contract_service_number_of"] += 1
        record["contracts_service_original_value"] += award.amount
    return [records[key] for key in sorted(records, key=lambda k: (k[2], k[0], k[1]))]
