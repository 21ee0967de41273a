"""The source simulator: contract conformance, determinism, truth coverage, identity mess,
and an oracle whose probabilities match what happens."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from sources.contract import load_contract
from sources.simulator import dynamics as dyn
from sources.simulator import oracle, simulate
from sources.simulator.uscc import CHARSET, check_digit, is_valid, mistype

CONTRACT = load_contract()
SMALL = {"scale": 0.3, "months": 14, "progress": False}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    simulate(out, seed=3, **SMALL)
    return out


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("noisy")
    simulate(out, scale=2, months=14, seed=5, identity_noise=0.3, progress=False)
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    simulate(out, scale=1, months=14, seed=5, identity_noise=0.0, progress=False)
    return out


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def read_table(root: Path, source: str, table: str) -> list[dict]:
    enc = CONTRACT.source(source).encoding
    rows: list[dict] = []
    for path in sorted((root / "landing" / source).glob(f"*/{table}.csv")):
        with open(path, encoding=enc, newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def read_truth(root: Path, name: str) -> list[dict]:
    with open(root / "truth" / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_uscc_check_digit_matches_gb32100():
    # a real, published code (华为技术有限公司) and single-character corruptions of it
    assert check_digit("91440300708461136") == "T"
    assert is_valid("91440300708461136T")
    assert not is_valid("91440300708461136U")
    assert not is_valid("91440300708461163T")
    assert all(ch not in CHARSET for ch in "IOSVZ")


def test_mistyped_codes_always_fail_the_check():
    import numpy as np

    rng = np.random.default_rng(0)
    code = "91350100M000100Y43"
    assert all(not is_valid(mistype(code, rng)) for _ in range(200))


def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    again = tmp_path / "again"
    simulate(again, seed=3, **SMALL)
    assert files_of(small) == files_of(again)
    other = tmp_path / "other"
    simulate(other, seed=4, **SMALL)
    a, b = files_of(small), files_of(other)
    assert a.keys() == b.keys()
    assert a["landing/erp/20230801/orders.csv"] != b["landing/erp/20230801/orders.csv"]


def test_oracle_replays_change_only_the_oracle(small, tmp_path):
    fewer = tmp_path / "fewer"
    simulate(fewer, seed=3, oracle_replays=16, **SMALL)
    a, b = files_of(small), files_of(fewer)
    assert {k for k in a if a[k] != b.get(k)} == {"truth/oracle.csv"}


def test_oracle_in_a_worker_process_gives_the_same_bytes(small, tmp_path, monkeypatch):
    """Large worlds replay the oracle in a worker process; small ones in-process."""
    monkeypatch.setattr(oracle, "use_background", lambda n: True)
    background = tmp_path / "background"
    simulate(background, seed=3, **SMALL)
    assert files_of(small) == files_of(background)


def _parse(value: str, kind: str) -> None:
    if kind == "integer":
        int(value)
    elif kind == "numeric":
        float(value)
    elif kind == "date":
        dt.date.fromisoformat(value)
    elif kind == "timestamptz":
        assert dt.datetime.fromisoformat(value).tzinfo is not None, value
    elif kind == "boolean":
        assert value.lower() in {"true", "false", "1", "0"}


@pytest.fixture(scope="module")
def marketing_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("marketing")
    simulate(out, seed=3, marketing=True, **{**SMALL, "scale": 2})
    return out


@pytest.mark.parametrize("world", ["small", "marketing_world"])
def test_every_file_conforms_to_the_contract(world, request):
    small = request.getfixturevalue(world)
    batches = sorted(p.name for p in (small / "landing" / "erp").iterdir())
    assert len(batches) == 14
    assert batches[0] == "20230801" and batches[-1] == "20240901"
    # the marketing export only for a world with campaigns
    assert (small / "landing" / "marketing").is_dir() == (world == "marketing_world")
    for spec in CONTRACT.sources:
        source = spec.name
        if source == "marketing" and world == "small":
            continue
        for batch_dir in sorted((small / "landing" / source).iterdir()):
            manifest = json.loads((batch_dir / "_batch.json").read_text(encoding="utf-8"))
            assert manifest["batch_id"] == batch_dir.name and manifest["source"] == source
            extracted = dt.datetime.fromisoformat(manifest["extracted_at"])
            assert extracted.strftime("%Y%m%d") == batch_dir.name and extracted.hour == 0
            for tab in spec.tables:
                table, cols = tab.name, tab.columns
                raw = (batch_dir / f"{table}.csv").read_bytes()
                text = raw.decode(spec.encoding)  # decodes in the source's encoding
                rows = list(csv.reader(text.splitlines()))
                assert rows[0] == list(tab.column_names), (source, table)
                for row in rows[1:]:
                    assert len(row) == len(cols)
                    for value, col in zip(row, cols, strict=True):
                        name = col.name
                        if col.required:
                            assert value != "", (source, table, name)
                        if value:
                            _parse(value, col.type)
                        if value and col.type == "timestamptz" and name != "due_at":
                            # nothing in a batch happens after its extraction
                            assert dt.datetime.fromisoformat(value) < extracted, (table, name)


def test_erp_is_gb18030_and_not_utf8(small):
    raw = b"".join(p.read_bytes() for p in (small / "landing" / "erp").glob("*/customers.csv"))
    raw.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_event_batches_hold_that_months_events(small):
    """A record first appears in the batch of the month it happened; later batches may
    repeat it with what became known since (a response, a closing, a delivery)."""
    for source, table, key, col in [
        ("erp", "orders", "order_id", "ordered_at"),
        ("crm", "interactions", "interaction_id", "occurred_at"),
        ("erp", "payments", "payment_id", "paid_at"),
        ("service", "tickets", "ticket_id", "opened_at"),
    ]:
        enc = CONTRACT.source(source).encoding
        seen: set[str] = set()
        for path in sorted((small / "landing" / source).glob(f"*/{table}.csv")):
            batch = dt.datetime.strptime(path.parent.name, "%Y%m%d").date()
            month = (batch - dt.timedelta(days=1)).replace(day=1)
            with open(path, encoding=enc, newline="") as fh:
                for row in csv.DictReader(fh):
                    ts = dt.datetime.fromisoformat(row[col]).date()
                    if row[key] not in seen:
                        assert month <= ts < batch, (table, row)
                        seen.add(row[key])
                    else:
                        assert ts < month


@pytest.mark.parametrize("world", ["small", "marketing_world"])
def test_truth_covers_every_record_exactly_once(world, request):
    small = request.getfixturevalue(world)
    truth = Counter(
        (r["source"], r["table"], r["record_key"]) for r in read_truth(small, "records.csv")
    )
    assert max(truth.values()) == 1
    seen = set()
    for spec in CONTRACT.sources:
        for tab in spec.tables:
            for row in read_table(small, spec.name, tab.name):
                seen.add((spec.name, tab.name, "|".join(row[k] for k in tab.key)))
    assert seen == set(truth)
    companies = {r["company_id"] for r in read_truth(small, "companies.csv")}
    for r in read_truth(small, "records.csv"):
        assert r["company_id"] in companies or r["table"] in ("materials", "campaigns")


def test_registry_and_truth_codes_are_valid(small):
    assert all(is_valid(r["credit_code"]) for r in read_table(small, "registry", "companies"))
    assert all(is_valid(r["credit_code"]) for r in read_truth(small, "companies.csv"))


def test_noise_zero_gives_clean_identities(clean):
    truth = {r["company_id"]: r for r in read_truth(clean, "companies.csv")}
    owner = {
        (r["table"], r["record_key"]): r["company_id"] for r in read_truth(clean, "records.csv")
    }
    accounts = {r["account_id"] for r in read_table(clean, "crm", "accounts")}
    per_company = Counter(owner[("accounts", a)] for a in accounts)
    assert set(per_company.values()) == {1}
    for r in read_table(clean, "crm", "accounts"):
        t = truth[owner[("accounts", r["account_id"])]]
        assert r["account_name"] == t["legal_name"] and r["credit_code"] == t["credit_code"]
    customers = {r["customer_code"] for r in read_table(clean, "erp", "customers")}
    codes = Counter(owner[("customers", c)] for c in customers)
    assert set(codes.values()) == {1}
    for r in read_table(clean, "erp", "customers"):
        t = truth[owner[("customers", r["customer_code"])]]
        assert r["customer_name"] == t["legal_name"] and r["tax_id"] == t["credit_code"]
    assert not any("@qq.com" in r["email"] for r in read_table(clean, "crm", "contacts"))


def test_messiness_follows_the_knob(noisy):
    noise = 0.3
    truth = {r["company_id"]: r for r in read_truth(noisy, "companies.csv")}
    owner = {
        (r["table"], r["record_key"]): r["company_id"] for r in read_truth(noisy, "records.csv")
    }
    accounts = read_table(noisy, "crm", "accounts")
    first: dict[str, dict] = {}
    for r in accounts:
        first.setdefault(r["account_id"], r)
    per_company = Counter(owner[("accounts", a)] for a in first)
    # companies known long before the history had time to get their duplicates
    old = [c for c, t in truth.items() if t["entry_date"] < "2022-06-01"]
    share = sum(per_company[c] > 1 for c in old) / len(old)
    expected = 1 - (1 - noise) * (1 - noise / 3)
    assert abs(share - expected) < 0.15, share

    primary = [r for r in first.values() if r["owner_sales"]]
    missing = sum(r["credit_code"] == "" for r in primary) / len(primary)
    assert abs(missing - 2 * noise) < 0.12, missing

    # undo the simulator's formatting noise (lower case, a space), which is not a mistyping
    tax_ids = [r["tax_id"].upper().replace(" ", "") for r in read_table(noisy, "erp", "customers")]
    present = [t for t in tax_ids if t]
    bad = sum(not is_valid(t) for t in present) / len(present)
    assert 0.02 < bad < 0.25, bad
    names = [r["customer_name"] for r in read_table(noisy, "erp", "customers")]
    legal = {t["legal_name"] for t in truth.values()}
    assert 0.1 < sum(n not in legal for n in names) / len(names) < 0.6
    emails = [r["email"] for r in read_table(noisy, "crm", "contacts")]
    assert any(
        e.strip()
        .lower()
        .endswith(("@qq.com", "@163.com", "@126.com", "@gmail.com", "@sina.com", "@outlook.com"))
        for e in emails
    )
    # hard negatives exist: same brand in another city, group members sharing a domain
    assert any(t["twin_of"] for t in truth.values())
    assert any(t["group_id"] for t in truth.values())


def test_sources_subset_writes_the_same_world(small, tmp_path):
    only = tmp_path / "erp_only"
    simulate(only, seed=3, sources=["erp"], **SMALL)
    assert sorted(p.name for p in (only / "landing").iterdir()) == ["erp"]
    full, part = files_of(small / "landing" / "erp"), files_of(only / "landing" / "erp")
    assert full == part
    assert (only / "truth" / "oracle.csv").read_bytes() == (
        small / "truth" / "oracle.csv"
    ).read_bytes()
    assert {r["source"] for r in read_truth(only, "records.csv")} == {"erp"}


@pytest.fixture(scope="module")
def oracle_rows(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("oracle")
    simulate(out, scale=3, months=24, seed=11, progress=False)
    return read_truth(out, "oracle.csv")


@pytest.mark.parametrize(
    ("label", "prob", "tolerance"),
    [
        ("churn_180d", "p_churn_180d", 0.04),
        ("default_90dpd_180d", "p_default_90dpd_180d", 0.025),
        ("purchase_30d", "p_purchase_30d", 0.04),
    ],
)
def test_oracle_is_calibrated_and_informative(oracle_rows, label, prob, tolerance):
    rows = [r for r in oracle_rows if r[label] != ""]
    y = [int(r[label]) for r in rows]
    p = [float(r[prob]) for r in rows]
    assert 0 < sum(y) < len(y)
    assert abs(sum(p) / len(p) - sum(y) / len(y)) < tolerance
    assert roc_auc_score(y, p) > 0.8


def test_oracle_chain_steps_exactly_as_the_simulation():
    """The oracle replays with per-company tables (dynamics.Chain); given the same uniforms
    they must take the branches of the simulation's own `transition`, from every state."""
    rng = np.random.default_rng(7)
    n, k = 40, 50
    tr = dyn.Traits(
        size=rng.random(n), tech=rng.random(n), loyalty=rng.random(n), codev=rng.random(n),
        fin=rng.random(n), burst=rng.random(n) < 0.5, research=rng.random(n) < 0.2,
        terms=np.full(n, 60),
    )  # fmt: skip
    comp = np.repeat(np.arange(n), k)
    code = rng.integers(0, dyn.N_STATES, size=n * k)
    st = dyn.CODE_STATE.take(code)
    chain = dyn.Chain(tr)
    for _ in range(6):
        expected = dyn.transition(st, tr.take(comp), np.random.default_rng(1))
        code = chain.step(code, comp, np.random.default_rng(1))
        assert np.array_equal(code, dyn.encode(expected))
        lam, cancel = dyn.order_rate(expected, tr.take(comp), 2)
        t_lam, t_cancel = chain.order_rate(2)
        assert np.array_equal(t_lam[comp * dyn.N_STATES + code], lam)
        assert np.array_equal(t_cancel[comp * dyn.N_STATES + code], cancel)
        st = expected


# ---- the world knobs: placeholder_share and foreign_share


@pytest.fixture(scope="module")
def placeholder_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("placeholder")
    simulate(out, seed=3, placeholder_share=0.3, **{**SMALL, "scale": 1})
    return out


@pytest.fixture(scope="module")
def foreign_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("foreign")
    simulate(out, seed=3, foreign_share=0.3, **SMALL)
    return out


def test_knobs_at_zero_give_the_same_bytes(small, tmp_path):
    again = tmp_path / "zero"
    simulate(again, seed=3, placeholder_share=0.0, foreign_share=0.0, **SMALL)
    assert files_of(small) == files_of(again)
    # a world without knobs writes every company with country CN, as the last column
    companies = read_truth(small, "companies.csv")
    assert list(companies[0])[-1] == "country"
    assert {r["country"] for r in companies} == {"CN"}


def test_knobs_are_deterministic_and_keep_the_truth_format(placeholder_world, tmp_path):
    again = tmp_path / "again"
    simulate(again, seed=3, placeholder_share=0.3, **{**SMALL, "scale": 1})
    assert files_of(placeholder_world) == files_of(again)
    assert list(read_truth(placeholder_world, "records.csv")[0]) == [
        "source", "table", "record_key", "company_id",
    ]  # fmt: skip


@pytest.mark.parametrize("knob", ["placeholder_share", "foreign_share"])
def test_knobs_outside_zero_one_are_refused(knob, tmp_path):
    with pytest.raises(ValueError, match=knob):
        simulate(tmp_path, **{knob: 1.5}, **SMALL)


def test_placeholders_are_shared_by_companies_with_different_valid_codes(placeholder_world):
    owner = {
        (r["table"], r["record_key"]): r["company_id"]
        for r in read_truth(placeholder_world, "records.csv")
    }
    accounts = read_table(placeholder_world, "crm", "accounts")
    tickets = read_table(placeholder_world, "service", "tickets")
    digits = ["".join(ch for ch in r["phone"] if ch.isdigit()) for r in accounts]
    digits += ["".join(ch for ch in r["contact_phone"] if ch.isdigit()) for r in tickets]
    placeholder = sum(d.endswith("13800138000") for d in digits)
    assert 0.03 * len(digits) < placeholder < 0.3 * len(digits)
    # companies with valid codes of their own share one placeholder mobile or park address
    by_value: dict[str, set[str]] = {}
    for r in accounts:
        if is_valid(r["credit_code"].strip()):
            company = owner[("accounts", r["account_id"])]
            if "13800138000" in "".join(ch for ch in r["phone"] if ch.isdigit()):
                by_value.setdefault("mobile", set()).add(company)
            if "园区服务中心" in r["address"]:
                by_value.setdefault(r["address"], set()).add(company)
    assert len(by_value.get("mobile", ())) >= 2
    assert max(len(v) for k, v in by_value.items() if k != "mobile") >= 2
    emails = [
        r["email"].strip().lower() for r in read_table(placeholder_world, "lab", "sample_requests")
    ]
    assert any(e.startswith("service@") for e in emails)


def test_foreign_companies_have_their_own_formats_and_no_credit_code(foreign_world):
    companies = {r["company_id"]: r for r in read_truth(foreign_world, "companies.csv")}
    abroad = {c for c, r in companies.items() if r["country"] != "CN"}
    assert 0.15 * len(companies) <= len(abroad) <= 0.45 * len(companies)
    assert all(companies[c]["credit_code"] == "" for c in abroad)
    assert all(is_valid(r["credit_code"]) for c, r in companies.items() if c not in abroad)
    registry = {r["credit_code"] for r in read_table(foreign_world, "registry", "companies")}
    assert "" not in registry
    owner = {
        (r["table"], r["record_key"]): r["company_id"]
        for r in read_truth(foreign_world, "records.csv")
    }
    rows = [
        r for r in read_table(foreign_world, "crm", "accounts")
        if owner[("accounts", r["account_id"])] in abroad
    ]  # fmt: skip
    assert rows and all(r["credit_code"] == "" for r in rows)
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in r["account_name"]) for r in rows)
    assert any(r["country"] in {"DE", "US", "JP", "FR", "KR", "IT"} for r in rows)
    phones = [r["phone"] for r in rows]
    assert any(p.startswith(("+", "00")) for p in phones)
    # national forms only where the record says the country
    assert all(r["country"] for r in rows if not r["phone"].startswith(("+", "00")))
    erp = read_table(foreign_world, "erp", "customers")
    assert any(r["country"] for r in erp)
    lab = [
        r for r in read_table(foreign_world, "lab", "sample_requests")
        if owner[("sample_requests", r["request_id"])] in abroad
    ]  # fmt: skip
    assert lab and all(r["contact_name"].isascii() or " " in r["contact_name"] for r in lab)


def test_latin_names_include_forms_that_break_naive_stripping():
    from sources.simulator.countries import COUNTRIES

    brands = {b for c in COUNTRIES for b in c.brands}
    assert "Follonico" in brands
    forms = {f[0] for c in COUNTRIES for f in c.legal_forms}
    assert {"GmbH", "AG", "S.p.A.", "Inc.", "LLC", "K.K.", "S.A.S."} <= forms


def test_foreign_phone_formats():
    from sources.simulator.countries import COUNTRIES, format_phone

    de = next(c for c in COUNTRIES if c.code == "DE")
    us = next(c for c in COUNTRIES if c.code == "US")
    rng = np.random.default_rng(1)
    assert format_phone(de, "8912345678", 2, 0.0, rng, national=True) == "+49 89 1234 5678"
    assert format_phone(us, "2125550142", 3, 0.0, rng, national=True) == "+1 (212) 555-0142"
    seen = {format_phone(us, "2125550142", 3, 0.5, rng, national=True) for _ in range(200)}
    assert "(212) 555-0142" in seen
    seen = {format_phone(de, "8912345678", 2, 0.5, rng, national=True) for _ in range(200)}
    assert {"0049 89 12345678", "089 1234 5678"} <= seen
    seen = {format_phone(de, "8912345678", 2, 0.5, rng, national=False) for _ in range(200)}
    assert all(s.startswith(("+", "00")) for s in seen)
