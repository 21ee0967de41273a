"""`portrait identity phone-codes`: write the identity_phone_country_codes seed from
libphonenumber's metadata (the `phonenumbers` package), so the SQL phone normaliser reads
each country's calling code, trunk prefix and number lengths from a maintained source."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import typer

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
SEED_PATH = SEEDS / "identity_phone_country_codes.csv"
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


def phone_country_csv() -> str:
    """The seed's text, exactly as committed."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(phone_country_rows())
    return out.getvalue()


@app.command("phone-codes")
def phone_codes() -> None:
    """Regenerate dbt_project/seeds/identity_phone_country_codes.csv (then `dbt seed`)."""
    text = phone_country_csv()
    changed = not SEED_PATH.exists() or SEED_PATH.read_text(encoding="utf-8") != text
    if changed:
        SEED_PATH.write_text(text, encoding="utf-8")
    typer.echo(f"{SEED_PATH}: {'updated' if changed else 'already in sync'}")
