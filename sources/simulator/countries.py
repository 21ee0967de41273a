"""Countries of the customers abroad: cities, phone numbering, legal forms, names; and how
their phone numbers are written (international, with 00, national where the record says
the country). Imported by `identity` (mobiles) and `abroad` (the foreign companies)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class City:
    name: str  # canonical (truth/companies.csv)
    spellings: tuple[str, ...]  # other ways a rep writes it (native, Chinese, without accents)
    region: str
    area: str  # area code inside the national significant number
    postcode: str


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    names: tuple[str, ...]  # written in the country column instead of the code
    calling: str  # country calling code
    trunk: str  # national prefix dialled before the area code ("" where the area keeps it)
    nsn_digits: int  # digits of a landline's national significant number (area included)
    mobile_prefixes: tuple[str, ...]
    mobile_digits: int  # digits after the mobile prefix
    tld: str
    legal_forms: tuple[tuple[str, ...], ...]  # (canonical, variants...)
    brands: tuple[str, ...]
    firsts: tuple[str, ...]
    lasts: tuple[str, ...]
    cities: tuple[City, ...]
    streets: tuple[tuple[str, str], ...]  # (full, abbreviated)
    address: str  # format: {no} {street} {postcode} {city}


COUNTRIES: tuple[Country, ...] = (
    Country(
        "DE",
        ("Germany", "Deutschland", "德国"),
        "49",
        "0",
        10,
        ("151", "160", "171"),
        8,
        ".de",
        (("GmbH", "Gmbh", "G.m.b.H."), ("AG", "A.G."), ("GmbH & Co. KG", "GmbH & Co KG")),
        ("Kessler", "Brandt", "Krüger", "Hoffmann", "Schäfer", "Weidmann", "Lindqvist"),
        ("Anna", "Lukas", "Julia", "Maximilian", "Sophie", "Jonas", "Katrin"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner", "Becker"),
        (
            City("Munich", ("München", "Muenchen", "慕尼黑"), "Bavaria", "89", "808"),
            City("Stuttgart", ("stuttgart", "斯图加特"), "Baden-Württemberg", "711", "701"),
            City("Hamburg", ("HAMBURG", "汉堡"), "Hamburg", "40", "200"),
        ),
        (
            ("Leopoldstraße", "Leopoldstr."),
            ("Hauptstraße", "Hauptstr."),
            ("Industriestraße", "Industriestr."),
        ),
        "{street} {no}, {postcode}{zip} {city}",
    ),
    Country(
        "US",
        ("United States", "USA", "美国"),
        "1",
        "1",
        10,
        ("408", "650", "917"),
        7,
        ".com",
        (("Inc.", "Inc", "Incorporated"), ("LLC", "L.L.C."), ("Corp.", "Corporation")),
        ("Meridian", "Redwood", "Lakeshore", "Summitco", "Bayview", "Franco"),
        ("James", "Mary", "Emily", "Michael", "Sarah", "David", "Jennifer"),
        ("Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson"),
        (
            City("San Jose", ("San José", "SAN JOSE", "圣何塞"), "CA", "408", "951"),
            City("New York", ("New York City", "NYC", "纽约"), "NY", "212", "100"),
            City("Los Angeles", ("LA", "L.A.", "洛杉矶"), "CA", "213", "900"),
            City("Boston", ("boston", "波士顿"), "MA", "617", "021"),
        ),
        (
            ("Main Street", "Main St."),
            ("Technology Drive", "Technology Dr."),
            ("Industrial Avenue", "Industrial Ave."),
        ),
        "{no} {street}, {city}, {region} {postcode}{zip}",
    ),
    Country(
        "JP",
        ("Japan", "日本"),
        "81",
        "0",
        9,
        ("90", "80"),
        8,
        ".co.jp",
        (("K.K.", "KK", "Kabushiki Kaisha"), ("Co., Ltd.", "Co. Ltd", "Co Ltd")),
        ("Hoshino", "Kawada", "Miyabi", "Tanabe", "Shirako"),
        ("Yuki", "Haruto", "Aoi", "Ren", "Sakura", "Hiroshi"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito"),
        (
            City("Osaka", ("Ōsaka", "OSAKA", "大阪"), "Osaka", "6", "530"),
            City("Tokyo", ("Tōkyō", "TOKYO", "东京"), "Tokyo", "3", "100"),
            City("Nagoya", ("nagoya", "名古屋"), "Aichi", "52", "450"),
        ),
        (
            ("Umeda Kita-ku", "Umeda, Kita-ku"),
            ("Chiyoda-ku Marunouchi", "Marunouchi Chiyoda"),
            ("Naka-ku Sakae", "Sakae Naka-ku"),
        ),
        "{no} {street}, {city} {postcode}-00{zip}",
    ),
    Country(
        "FR",
        ("France", "法国"),
        "33",
        "0",
        9,
        ("6", "7"),
        8,
        ".fr",
        (("S.A.S.", "SAS", "S.A.S"), ("S.A.", "SA"), ("SARL", "S.A.R.L.")),
        ("Delacroix", "Rochefort", "Lumitec", "Moreau", "Valdeco"),
        ("Camille", "Louis", "Léa", "Hugo", "Manon", "Julien"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit"),
        (
            City("Lyon", ("LYON", "里昂"), "Auvergne-Rhône-Alpes", "4", "690"),
            City("Paris", ("PARIS", "巴黎"), "Île-de-France", "1", "750"),
            City("Grenoble", ("grenoble", "格勒诺布尔"), "Auvergne-Rhône-Alpes", "4", "380"),
        ),
        (
            ("Rue de la République", "r. de la République"),
            ("Avenue Jean Jaurès", "av. Jean Jaurès"),
            ("Boulevard Vivier Merle", "bd Vivier Merle"),
        ),
        "{no} {street}, {postcode}{zip} {city}",
    ),
    Country(
        "KR",
        ("South Korea", "Korea", "韩国"),
        "82",
        "0",
        9,
        ("10",),
        8,
        ".co.kr",
        (("Co., Ltd.", "Co. Ltd.", "Co Ltd"), ("Corp.", "Corporation")),
        ("Hanwool", "Daesung", "Samhwa", "Jinwoo"),
        ("Ji-woo", "Min-jun", "Seo-yeon", "Ha-eun", "Do-yun"),
        ("Kim", "Lee", "Park", "Choi", "Jung"),
        (
            City("Seoul", ("SEOUL", "서울", "首尔"), "Seoul", "2", "061"),
            City("Suwon", ("Suwon-si", "水原"), "Gyeonggi", "31", "165"),
        ),
        (
            ("Teheran-ro Gangnam-gu", "Teheran-ro, Gangnam-gu"),
            ("Gwanggyo-ro Yeongtong-gu", "Gwanggyo-ro Yeongtong"),
        ),
        "{no} {street}, {city} {postcode}{zip}",
    ),
    Country(
        "IT",
        ("Italy", "Italia", "意大利"),
        "39",
        "",
        10,
        ("333", "347"),
        7,
        ".it",
        (("S.p.A.", "SpA", "S.P.A."), ("S.r.l.", "Srl", "S.R.L.")),
        ("Follonico", "Ferraro", "Vescovo", "Bianco", "Marconico", "Tecnico"),
        ("Giulia", "Marco", "Francesca", "Luca", "Alessandro", "Chiara"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"),
        (
            City("Milan", ("Milano", "MILANO", "米兰"), "Lombardy", "02", "201"),
            City("Turin", ("Torino", "TORINO", "都灵"), "Piedmont", "011", "101"),
            City("Siena", ("SIENA", "锡耶纳"), "Tuscany", "0577", "531"),
        ),
        (("Via Roma", "V. Roma"), ("Corso Italia", "C.so Italia"), ("Viale Europa", "V.le Europa")),
        "{street} {no}, {postcode}{zip} {city}",
    ),
)
BY_CALLING = {c.calling: c for c in COUNTRIES}


def digits(rng: np.random.Generator, n: int) -> str:
    return str(int(rng.integers(2, 10))) + "".join(str(int(d)) for d in rng.integers(0, 10, n - 1))


def group(nsn: str, head: int) -> str:
    """`head` digits, then the rest in blocks of four (last block may be shorter)."""
    rest = nsn[head:]
    blocks = [rest[i : i + 4] for i in range(0, len(rest), 4)]
    return " ".join([nsn[:head], *blocks])


def format_phone(
    country: Country, nsn: str, head: int, noise: float, rng: np.random.Generator,
    national: bool,
) -> str:  # fmt: skip
    """One way of writing +<calling> <nsn>; national forms (no country code) only when
    `national` (the record says which country)."""
    cc = country.calling
    if country.code == "US":
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        intl = (f"+1 ({a}) {b}-{c}", f"+1 {a}-{b}-{c}", f"001 {a} {b} {c}", f"+1{nsn}")
        local = (f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"1-{a}-{b}-{c}")
    else:
        trunk_nsn = country.trunk + nsn
        g = group(nsn, head)
        a, b = nsn[:head], nsn[head:]
        intl = (f"+{cc} {g}", f"00{cc} {a} {b}", f"+{cc}-{a}-{b}", f"+{cc}{nsn}")
        if country.trunk:
            intl += (f"+{cc} ({country.trunk}){g}",)
        local = (group(trunk_nsn, head + len(country.trunk)),
                 f"{trunk_nsn[: head + len(country.trunk)]}-{nsn[head:]}")  # fmt: skip
    if rng.random() >= 2 * noise:
        return intl[0]
    pool = intl + local if national else intl
    return pool[int(rng.integers(len(pool)))]


def mobile(country: Country, rng: np.random.Generator) -> str:
    """E.164 without spaces, e.g. +4915112345678."""
    prefix = country.mobile_prefixes[int(rng.integers(len(country.mobile_prefixes)))]
    return f"+{country.calling}{prefix}{digits(rng, country.mobile_digits)}"


def format_mobile(e164: str, noise: float, rng: np.random.Generator) -> str:
    """A foreign mobile as written on a form: mostly international; sometimes national."""
    digits = e164[1:]
    cc = digits[:1] if digits[:1] == "1" else digits[:2]
    country = BY_CALLING[cc]
    nsn = digits[len(cc) :]
    head = len(country.mobile_prefixes[0])
    return format_phone(country, nsn, head, noise, rng, national=rng.random() < 0.3)
