"""Source-system simulator: a B2B advanced-materials company's customers, month by month.

`simulate()` writes landing batches per the landing contract (`sources/contract.yml`) under
`<out>/landing/` and the ground truth under `<out>/truth/`. See docs/simulator.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sources.contract import load_contract
from sources.simulator import abroad
from sources.simulator import identity as ident
from sources.simulator import oracle as orc
from sources.simulator import world as wld
from sources.simulator.behaviour import Simulator
from sources.simulator.placeholders import Placeholders
from sources.simulator.writer import Calendar, Landing

__all__ = ["ORACLE_SAMPLES", "simulate"]

ORACLE_SAMPLES = 256  # default Monte Carlo replicas of the future per company and month-end


def simulate(
    out: Path,
    *,
    scale: float = 1.0,
    seed: int = 42,
    identity_noise: float = 0.15,
    months: int = 36,
    start: dt.date = dt.date(2023, 7, 1),
    sources: list[str] | None = None,
    progress: bool = True,
    oracle_replays: int = ORACLE_SAMPLES,
    placeholder_share: float = 0.0,
    foreign_share: float = 0.0,
    free_text: bool = True,
    marketing: bool = False,
) -> dict:
    """Simulate `months` months from `start` for about 100 * `scale` companies.

    `oracle_replays` replicas of the future per company and month-end give the oracle's
    probabilities (fewer: faster, noisier; the landing files do not depend on it).
    `placeholder_share`: share of identity records carrying a shared placeholder (phone,
    park switchboard and address, agency e-mail); `foreign_share`: share of companies
    abroad. Both 0 by default, when the files are those of a world without the knobs.
    `free_text`: write the free-text columns (notes, comments, descriptions) and their truth
    (`truth/texts.csv`, `truth/concerns.csv`); every other column is the same without them.
    `marketing`: run campaigns with a known effect on the orders (marketing.py), write the
    `marketing` source and `truth/campaigns.csv`, `truth/campaign_members.csv`; without it
    no marketing folder is written and the files are those of a world without campaigns.
    Returns a summary: companies, rows written per table, source records, seconds.
    Same arguments give byte-identical files.
    """
    t0 = time.perf_counter()
    out = Path(out)
    contract = load_contract()
    known = list(contract.source_names)
    chosen = known if sources is None else [s for s in known if s in sources]
    if not marketing:
        chosen = [s for s in chosen if s != "marketing"]
    unknown = sorted(set(sources or []) - set(known))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {known}")
    if not 0.0 <= identity_noise <= 1.0:
        raise ValueError("identity_noise must be within [0, 1]")
    if months < 1:
        raise ValueError("months must be >= 1")
    if oracle_replays < 1:
        raise ValueError("oracle_replays must be >= 1")
    for knob, value in (("placeholder_share", placeholder_share), ("foreign_share", foreign_share)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{knob} must be within [0, 1]")

    seq = np.random.SeedSequence(seed)
    world_rng, behaviour_rng, identity_rng, oracle_rng = (
        np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(4)
    )
    # the knobs draw from generators of their own, spawned after the four above
    foreign_rng, placeholder_rng = (np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(2))
    # free text too, spawned after those (spawning is stateful: the others stay as they were)
    text_rng = np.random.Generator(np.random.PCG64(seq.spawn(1)[0]))
    # and marketing after those, spawned with or without it (the others stay as they were)
    mkt_rng = np.random.Generator(np.random.PCG64(seq.spawn(1)[0]))
    n = max(2, round(100 * scale))
    world = wld.build(n, months, world_rng, identity_rng)
    foreign = abroad.assign(world, foreign_share, foreign_rng)
    hubs = Placeholders(world, placeholder_share, placeholder_rng, foreign)
    cal = Calendar(start, months, horizon=orc.HORIZON + 2)
    landing = Landing(out, contract, chosen, cal, texts=free_text)
    sim = Simulator(world, cal, landing, behaviour_rng, identity_rng, identity_noise, orc)
    sim.knobs(foreign if foreign_share > 0 else None, hubs if placeholder_share > 0 else None,
              foreign_rng)  # fmt: skip
    if free_text:
        encodings = {s.name: s.encoding for s in contract.sources}
        sim.free_text(text_rng, encodings, foreign)
    if marketing:
        sim.marketing(mkt_rng)

    truth = out / "truth"
    oracle_rows = []  # (month, as_of day, companies, waits for their probabilities)
    replayer = orc.Replayer(cal, oracle_rng, oracle_replays, orc.use_background(n))
    with replayer, open(truth / "states.csv", "w", encoding="utf-8", newline="") as fh:
        states = csv.writer(fh)
        states.writerow(["company_id", "month_end", "relationship", "financial_state",
                         "project_phase", "codev_active", "closed"])  # fmt: skip
        for m in tqdm(range(months), desc="simulate", unit="month", disable=not progress):
            landing.open_month(m)
            sim.month(m)
            landing.close_month()
            idx = np.nonzero(sim.entered)[0]
            st = sim.state.take(idx)
            d_end = cal.month_start[m + 1] - 1
            month_end = cal.date(d_end)
            for c, r, f, p, j, cl in zip(idx, st.r, st.f, st.p, st.j, st.closed, strict=True):
                states.writerow([world.ids[c], month_end, wld.RELATIONSHIP[r], wld.FINANCIAL[f],
                                 wld.PROJECT_PHASE[p], int(j), int(cl)])  # fmt: skip
            comp, due, sday, frozen = sim.open_invoices()
            pos = np.full(n, -1)
            pos[idx] = np.arange(idx.size)
            keep = pos[comp] >= 0
            inv = (pos[comp[keep]], due[keep], sday[keep], frozen[keep])
            wait = replayer.submit(st, sim.traits.take(idx), inv, m)
            oracle_rows.append((m, d_end, idx, wait))
            sim.after_month(m)
        sim.finish()
        landing.close()
        oracle_rows = [(m, d, idx, *wait()) for m, d, idx, wait in oracle_rows]

    _write_companies(truth / "companies.csv", world, cal, foreign)
    if sim.texts is not None:
        sim.texts.write_concerns(truth / "concerns.csv")
    if sim.mkt is not None:
        sim.mkt.write_truth(truth)
    labels = orc.labels(
        n, cal, world.entry_day, sim.closed_day,
        np.frombuffer(sim.order_company, dtype=np.int32),
        np.frombuffer(sim.order_day, dtype=np.int32),
        np.frombuffer(sim.inv_company, dtype=np.int32),
        np.frombuffer(sim.inv_issue, dtype=np.int32),
        np.frombuffer(sim.inv_default, dtype=np.int32),
    )  # fmt: skip
    _write_oracle(truth / "oracle.csv", world, cal, oracle_rows, labels)

    counts = dict(landing.counts)
    return {
        "companies": n,
        "months": months,
        "sources": chosen,
        "rows": counts,
        "records": sum(counts.values()),
        "oracle_replays": oracle_replays,
        "foreign_companies": len(foreign),
        "campaigns": 0 if sim.mkt is None else len(sim.mkt.campaigns),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _write_companies(path: Path, world: wld.World, cal: Calendar, foreign: dict) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([
            "company_id", "credit_code", "legal_name", "group_id", "twin_of", "customer_type",
            "industry", "province", "city", "entry_date", "size", "tech_orientation",
            "loyalty", "codev_willingness", "financial_health", "purchase_rhythm",
            "lifecycle_phase", "payment_terms_days", "country",
        ])  # fmt: skip
        for c in range(world.n):
            idn = world.identities[c]
            province, city = ident.CITIES[idn.city_idx][0], ident.CITIES[idn.city_idx][1]
            abroad_at = foreign.get(c)
            if abroad_at is not None:
                province, city = abroad_at.city.region, abroad_at.city.name
            w.writerow([
                world.ids[c], world.credit_code[c], idn.legal_name, world.group_id[c],
                world.twin_of[c], wld.CUSTOMER_TYPES[world.ctype[c]],
                ident.INDUSTRIES[world.industry[c]], province, city,
                cal.date(int(world.entry_day[c])), f"{world.size[c]:.4f}",
                f"{world.tech[c]:.4f}", f"{world.loyalty[c]:.4f}", f"{world.codev[c]:.4f}",
                f"{world.fin[c]:.4f}", "burst" if world.burst[c] else "steady",
                wld.RELATIONSHIP[world.init_r[c]], int(world.terms[c]),
                "CN" if abroad_at is None else abroad_at.country.code,
            ])  # fmt: skip


def _write_oracle(path: Path, world: wld.World, cal: Calendar, rows, labels) -> None:
    def lab(x: float) -> str:
        return "" if np.isnan(x) else str(int(x))

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "company_id",
                "as_of_date",
                "p_churn_180d",
                "p_default_90dpd_180d",
                "p_purchase_30d",
                "churn_180d",
                "default_90dpd_180d",
                "purchase_30d",
            ]
        )
        for m, d_end, idx, pc, pd_, pp in rows:
            churn, default, purchase = labels[m]
            as_of = cal.date(d_end)
            for k, c in enumerate(idx):
                w.writerow([world.ids[c], as_of, f"{pc[k]:.4f}", f"{pd_[k]:.4f}", f"{pp[k]:.4f}",
                            lab(churn[c]), lab(default[c]), lab(purchase[c])])  # fmt: skip
