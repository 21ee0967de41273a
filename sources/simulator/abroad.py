"""Customers abroad (the `foreign_share` knob): Latin legal names with legal forms, foreign
cities, phone numbers in their own countries' formats, Latin addresses, no credit code.

`assign()` turns a share of the world's standalone firms into foreign companies after the
world is drawn; it draws from its own generator, so with `foreign_share=0` nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sources.simulator import identity as ident
from sources.simulator.countries import COUNTRIES, City, Country, digits, format_phone, mobile

INDUSTRY_EN = {
    "new_energy_battery": ("Battery Materials", "Energy Systems"),
    "semiconductor": ("Semiconductor", "Microsystems"),
    "aerospace": ("Aerospace", "Aero Composites"),
    "medical_devices": ("Medical", "Medical Devices"),
    "electronics": ("Electronics", "Photonics"),
    "automotive": ("Automotive", "Mobility Systems"),
    "construction": ("Building Materials", "Composites"),
}
TITLES = (
    "Purchasing Manager", "Procurement Specialist", "R&D Director", "Technical Engineer",
    "CEO", "Quality Manager", "Supply Chain Lead", "Project Manager",
)  # fmt: skip
LAB_DEPTS = ("R&D", "R&D Center", "Technical Center", "Purchasing", "Materials Lab")


@dataclass
class Foreign:
    """Where a foreign company is and how its numbers read."""

    country: Country
    city: City
    switchboard: str  # national significant number of the company's main line
    street_no: tuple[str, str, str]  # (number, street full, street abbreviated)
    zip_tail: str


def _typo(text: str, rng: np.random.Generator) -> str:
    """Swap two adjacent letters or drop one (never the first)."""
    if len(text) < 4:
        return text + " "
    pos = int(rng.integers(1, len(text) - 2))
    if rng.random() < 0.5:
        return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
    return text[:pos] + text[pos + 1 :]


def assign(world, share: float, rng: np.random.Generator) -> dict[int, Foreign]:
    """Make about `share` of all companies foreign (standalone firms only: no research
    institutes, group members or namesakes); rewrites their identity and credit code."""
    if share <= 0:
        return {}
    eligible = [
        c
        for c in range(world.n)
        if world.ctype[c] != 0 and not world.group_id[c] and not world.twin_of[c]
    ]
    p = min(1.0, share * world.n / max(1, len(eligible)))
    # A bare name (brand + word) belongs to one firm: two standalone firms registered as
    # "Bianco Mobility Systems S.r.l." and "... S.p.A." in one city would be one group's. A
    # brand may recur (Lakeshore Inc., Lakeshore Microsystems Inc.), an e-mail domain never:
    # a later firm of a used brand writes its bare name into the domain.
    used: set[str] = set()
    domains: set[str] = set()
    out: dict[int, Foreign] = {}
    for c in eligible:
        if rng.random() >= p:
            continue
        country = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        city = country.cities[int(rng.integers(len(country.cities)))]
        brand = country.brands[int(rng.integers(len(country.brands)))]
        words = INDUSTRY_EN[ident.INDUSTRIES[world.industry[c]]]
        form = country.legal_forms[int(rng.integers(len(country.legal_forms)))]
        for _attempt in range(50):
            word = words[int(rng.integers(len(words)))] if rng.random() < 0.6 else ""
            legal = " ".join(x for x in (brand, word, form[0]) if x)
            bare = " ".join(x for x in (brand, word) if x)
            if bare not in used:
                break
            # another brand of the country, or a made-up one: Latin brands are few
            brand = country.brands[int(rng.integers(len(country.brands)))]
            if _attempt > 10:
                brand = brand + ("tek", "ron", "via", "lux", "co")[int(rng.integers(5))]
        used.add(bare)
        number = digits(rng, country.nsn_digits - len(city.area))
        n_street = int(rng.integers(len(country.streets)))
        full, short = country.streets[n_street]
        foreign = Foreign(
            country=country,
            city=city,
            switchboard=city.area + number,
            street_no=(str(int(rng.integers(1, 200))), full, short),
            zip_tail=f"{int(rng.integers(0, 100)):02d}",
        )
        domain = _domain(brand, country.tld)
        if domain in domains:
            domain = _domain(bare, country.tld)
        for n in range(2, 100):
            if domain not in domains:
                break
            domain = _domain(f"{bare}{n}", country.tld)
        domains.add(domain)
        idn = ident.Identity(
            legal_name=legal,
            english_name=legal,
            short_name=brand,
            legal_form=form[0],
            brand=brand,
            city_idx=world.identities[c].city_idx,
            domain=domain,
            switchboard=("+" + country.calling, foreign.switchboard),
            address=address(foreign, abbreviated=False),
        )
        idn.variants = _variants(legal, brand, word, form, city, rng)
        idn.lab_variants = [
            v
            for v in dict.fromkeys(
                [brand, f"{brand} {LAB_DEPTS[int(rng.integers(len(LAB_DEPTS)))]}",
                 f"{legal} - {LAB_DEPTS[int(rng.integers(len(LAB_DEPTS)))]}", legal.upper(),
                 _typo(brand, rng)]
            )
            if v != legal
        ]  # fmt: skip
        world.identities[c] = idn
        world.credit_code[c] = ""
        out[c] = foreign
    return out


_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e"})


def _domain(name: str, tld: str) -> str:
    return name.lower().translate(_ASCII).replace(" ", "").replace("&", "") + tld


def _variants(legal, brand, word, form, city, rng) -> list[str]:
    bare = " ".join(x for x in (brand, word) if x)
    out = [
        bare,  # without the legal form
        legal.upper(),
        f"The {legal}" if rng.random() < 0.5 else f"The {bare}",
        f"{bare} {form[1 + int(rng.integers(len(form) - 1))]}",  # another spelling of the form
        _typo(legal, rng),
        f"{legal} ({city.name})",
        legal.replace(" ", "  ", 1),
        legal + " ",
        brand,
    ]
    return [v for v in dict.fromkeys(out) if v and v != legal]


def address(f: Foreign, abbreviated: bool) -> str:
    no, full, short = f.street_no
    return f.country.address.format(
        no=no,
        street=short if abbreviated else full,
        postcode=f.city.postcode,
        zip=f.zip_tail,
        city=f.city.name,
        region=f.city.region,
    )


def address_variant(f: Foreign, noise: float, rng: np.random.Generator) -> str:
    if rng.random() >= 3 * noise:
        return address(f, abbreviated=False)
    text = address(f, abbreviated=True)
    u = rng.random()
    if u < 0.3:
        return text.replace(f.city.name, f.city.spellings[0])
    if u < 0.5:
        return text.upper()
    if u < 0.7:
        return text.split(",")[0]  # the street only
    return text


def company_phone(f: Foreign, noise: float, rng: np.random.Generator, national: bool) -> str:
    return format_phone(f.country, f.switchboard, len(f.city.area), noise, rng, national)


def person(f: Foreign, noise: float, rng: np.random.Generator, domain: str) -> ident.Person:
    first = f.country.firsts[int(rng.integers(len(f.country.firsts)))]
    last = f.country.lasts[int(rng.integers(len(f.country.lasts)))]
    fa, la = first.lower().translate(_ASCII), last.lower().translate(_ASCII)
    if f.country.code in ("JP", "KR") and rng.random() < 0.5:
        name = f"{last} {first}"  # family name first
    else:
        name = f"{first} {last}"
    if rng.random() < min(0.4, noise):
        email = f"{fa}.{la}{int(rng.integers(1, 99))}@gmail.com"
    else:
        forms = (f"{fa}.{la}", f"{fa[0]}.{la}", f"{fa[0]}{la}", f"{la}")
        email = f"{forms[int(rng.integers(len(forms)))] if noise > 0 else forms[0]}@{domain}"
    title = TITLES[int(rng.integers(len(TITLES)))]
    return ident.Person(name, la, fa, title, mobile(f.country, rng), email)


def country_value(f: Foreign | None, noise: float, rng: np.random.Generator) -> str:
    """The country column as a rep fills it: the ISO code, a name, or nothing."""
    u = rng.random()
    if f is None:  # a Chinese customer in a CRM that has foreign ones
        return "" if u < 0.7 else "CN" if u < 0.95 else "中国"
    if u < 0.7 - noise:
        return f.country.code
    if u < 0.9 - noise / 2:
        return f.country.names[int(rng.integers(len(f.country.names)))]
    return f.country.code.lower() if u < 0.93 else ""


def city_value(f: Foreign, noise: float, rng: np.random.Generator) -> str:
    if rng.random() >= 2 * noise:
        return f.city.name
    return f.city.spellings[int(rng.integers(len(f.city.spellings)))]


def fill(f: Foreign | None, row: dict, noise: float, rng: np.random.Generator) -> None:
    """Rewrite a CRM account or ERP customer row of a foreign company (country, city,
    province, address, phone); for a Chinese company only the country column."""
    country = country_value(f, noise, rng)
    row["country"] = country
    if f is None:
        return
    row["city"] = city_value(f, noise, rng)
    row["province"] = f.city.region if rng.random() < 0.4 else ""
    row["address"] = address_variant(f, noise, rng)
    row["phone"] = company_phone(f, noise, rng, national=bool(country) and rng.random() < 0.5)
