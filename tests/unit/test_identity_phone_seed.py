"""The committed identity_phone_country_codes seed is what the installed phonenumbers gives:
after upgrading phonenumbers, regenerate it with `portrait identity phone-codes`."""

from portrait.cli.identity import SEED_PATH, phone_country_csv, phone_country_rows


def test_committed_seed_equals_the_installed_phonenumbers_metadata():
    assert SEED_PATH.read_text(encoding="utf-8") == phone_country_csv()


def test_seed_knows_the_calling_codes_and_trunk_prefixes_the_normaliser_needs():
    rows = {row["region"]: row for row in phone_country_rows()}
    codes = [rows[region]["calling_code"] for region in ("CN", "DE", "US")]
    assert codes == ["86", "49", "1"]
    assert rows["DE"]["national_prefix"] == "0" and rows["IT"]["national_prefix"] == ""
    assert rows["DE"]["name_en"] == "Germany"
