"""Shared placeholder identifiers (the `placeholder_share` knob): the placeholder mobile a
rep types when the form insists, the switchboard and service-centre address of an
industrial park that many companies share, a purchasing agency's e-mail used for its clients.

Each company is placed in its city's park and with an agency once; then each CRM account,
ERP customer, lab request and ticket carries a placeholder with probability
`placeholder_share`. Own generator: with `placeholder_share=0` nothing changes.
"""

from __future__ import annotations

import numpy as np

from sources.simulator import identity as ident

PLACEHOLDER_MOBILE = "13800138000"
PARK_SIZE = (30, 100)  # companies sharing one park's switchboard and address
PARK_SHARE = 0.8  # of a city's companies that sit in a park (where the city has one)
AGENCY_SHARE = 0.35  # of the firms that buy through a purchasing agency
AGENCY_CLIENTS = 40  # clients per agency, about
AGENCIES = ("caigoutong", "huitong-sourcing", "yicai-agency", "zhongcai", "jicai-service")
# table -> (phone column, e-mail column, address column); "" where the table has none
COLUMNS = {
    "crm.accounts": ("phone", "email", "address"),
    "erp.customers": ("phone", "", "address"),
    "lab.sample_requests": ("phone", "email", ""),
    "service.tickets": ("contact_phone", "contact_email", ""),
}


class Placeholders:
    """Which park and agency each company uses, and the per-record substitution."""

    def __init__(self, world, share: float, rng: np.random.Generator, foreign=()):
        self.share = share
        self.rng = rng
        n = world.n
        self.park: list[tuple[str, str] | None] = [None] * n  # (switchboard, address)
        self.agency: list[str | None] = [None] * n
        by_city: dict[int, list[int]] = {}
        for c in range(n):
            if c not in foreign:
                by_city.setdefault(int(world.identities[c].city_idx), []).append(c)
        for city_idx, members in sorted(by_city.items()):
            inside = [c for c in members if rng.random() < PARK_SHARE]
            province, city, _, area, _, _ = ident.CITIES[city_idx]
            start = 0
            while start < len(inside):
                size = int(rng.integers(PARK_SIZE[0], PARK_SIZE[1] + 1))
                prov = "" if province == city else province
                road = ident.ROADS[int(rng.integers(len(ident.ROADS)))]
                number = f"6288{int(rng.integers(0, 10**4)):04d}"
                address = f"{prov}{city}工业园区园区服务中心{road}{int(rng.integers(1, 999))}号"
                for c in inside[start : start + size]:
                    self.park[c] = (f"{area}-{number}", address)
                start += size
        firms = [c for c in range(n) if world.ctype[c] != 0 and rng.random() < AGENCY_SHARE]
        n_agencies = max(1, round(len(firms) / AGENCY_CLIENTS))
        for c in firms:
            k = int(rng.integers(n_agencies))
            name = AGENCIES[k % len(AGENCIES)] + ("" if k < len(AGENCIES) else str(k))
            self.agency[c] = f"service@{name}.com"

    def fill(self, c: int, table: str, row: dict, noise: float) -> None:
        """With probability `share`, put one shared placeholder on this record."""
        cols = COLUMNS.get(table)
        if cols is None or self.rng.random() >= self.share:
            return
        phone, email, address = cols
        kinds = ["mobile"] if phone else []
        if self.park[c] is not None:
            kinds += ["park", "park"]
        if self.agency[c] is not None and email:
            kinds += ["agency", "agency"]
        if not kinds:
            return
        kind = kinds[int(self.rng.integers(len(kinds)))]
        if kind == "mobile":
            row[phone] = ident.format_mobile(PLACEHOLDER_MOBILE, noise, self.rng)
        elif kind == "park":
            switchboard, park_address = self.park[c]
            if phone:
                row[phone] = ident.format_landline(*switchboard.split("-"), noise, self.rng)
            if address:
                row[address] = park_address
        else:
            row[email] = ident.format_email(self.agency[c], noise, self.rng)
