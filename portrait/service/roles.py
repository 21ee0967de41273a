"""Who sees what in the profile service (docs/service.md, "Roles"): the people's roles of the
governance work, and the systems' token roles, each mapped to what it may read.

contacts: "none" (no contact details at all), "masked" (marts' masks), "own" (clear for the
accounts the user owns, none for the others), "all" (clear for every customer). The profile's
statement (queries.profile_sql) turns this and the customer's owner into its contacts_scope:
clear, masked or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Contacts = Literal["none", "masked", "own", "all"]


@dataclass(frozen=True)
class Role:
    name: str
    label_cn: str
    label_en: str
    contacts: Contacts
    credit: bool  # credit PD/grade and payment behaviour
    service: bool  # tickets, complaints, satisfaction
    export: bool
    system: bool = False  # a token role for a system (CRM, marketing, service desk)
    audiences: bool = False  # campaign audiences: define, materialise, export members


# fmt: off
ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("sales", "销售", "Sales", "own", credit=False, service=True, export=True),
        Role("credit", "信用", "Credit", "masked", credit=True, service=False, export=True),
        Role("service", "客服", "Service", "all", credit=False, service=True, export=False),
        Role("analyst", "分析师", "Analyst", "masked", credit=True, service=True, export=True),
        Role("admin", "管理员", "Admin", "all", credit=True, service=True, export=True,
             audiences=True),
        # systems: the CRM syncs portraits (its own contacts stay its own), marketing builds
        # audiences, the service desk shows a customer's portrait beside a ticket
        Role("crm-sync", "CRM 同步", "CRM sync", "masked", True, True, True, system=True),
        Role("marketing", "营销", "Marketing", "masked", False, False, True, system=True,
             audiences=True),
        Role("service-desk", "服务台", "Service desk", "all", False, True, False, system=True),
    )
}
# fmt: on
PEOPLE_ROLES = tuple(name for name, r in ROLES.items() if not r.system)


def get_role(name: str) -> Role:
    try:
        return ROLES[name]
    except KeyError:
        raise ValueError(f"unknown role {name!r}; roles: {', '.join(ROLES)}") from None


# Columns of marts.mart_customer_profile each kind of reader needs its role's leave for.
CREDIT_COLUMNS = (
    "credit_pd", "credit_grade", "credit_reasons", "credit_model",
    "overdue_balance_cny", "credit_limit_use", "late_invoice_share_365d", "on_credit_watchlist",
)  # fmt: skip
SERVICE_COLUMNS = ("tickets_365d", "complaint_tickets_365d", "avg_satisfaction_365d")


def hidden_columns(role: Role) -> set[str]:
    hidden: set[str] = set()
    if not role.credit:
        hidden.update(CREDIT_COLUMNS)
    if not role.service:
        hidden.update(SERVICE_COLUMNS)
    return hidden
