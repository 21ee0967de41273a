"""Month-by-month behaviour: latent state -> records in CRM, ERP, lab, service, projects,
registry and catalog. State lives in per-company arrays; each month's rows stream to disk.

Two generators: `rng` draws everything about the latent process and the timing of events,
`irng` only how identities are written (name variants, phone formats, which duplicate
account a rep used), so `identity_noise` changes the mess but never the behaviour. Free
text (texts.py) has a generator of its own, so texts never move the other columns.
"""

from __future__ import annotations

import contextlib
from array import array

import numpy as np

from sources.simulator import abroad, uscc
from sources.simulator import dynamics as dyn
from sources.simulator import identity as ident
from sources.simulator import marketing as mkt
from sources.simulator.events import DAY, Events, Invoice
from sources.simulator.texts import Text, TextWriter
from sources.simulator.world import CUSTOMER_TYPES, FAMILIES, MATERIALS, NEW_MATERIALS, World
from sources.simulator.writer import Calendar, Landing

SALES_REPS = (
    "王磊",
    "李娜",
    "张伟",
    "刘洋",
    "陈静",
    "杨帆",
    "赵敏",
    "黄强",
    "周婷",
    "吴昊",
    "徐丽",
    "孙鹏",
    "马超",
    "朱琳",
    "胡杰",
    "郭霞",
    "何斌",
    "林峰",
    "高翔",
    "罗欣",
)


class Simulator(Events):
    def __init__(
        self,
        world: World,
        cal: Calendar,
        landing: Landing,
        rng: np.random.Generator,
        irng: np.random.Generator,
        noise: float,
        oracle,
    ):
        self.w = world
        self.cal = cal
        self.out = landing
        self.rng = rng
        self.irng = irng
        self.noise = noise
        self.oracle = oracle
        n = world.n
        self.traits = dyn.Traits(
            size=world.size, tech=world.tech, loyalty=world.loyalty, codev=world.codev,
            fin=world.fin, burst=world.burst, research=world.ctype == 0, terms=world.terms,
        )  # fmt: skip
        self.state = dyn.State(
            r=world.init_r.copy(), f=world.init_f.copy(), p=world.init_p.copy(),
            j=world.init_j.copy(), closed=np.zeros(n, dtype=bool),
        )  # fmt: skip
        self.entered = np.zeros(n, dtype=bool)
        self.closed_day = np.full(n, 10**7, dtype=np.int64)
        self.seq: dict[str, int] = {}
        self.accounts: list[list[str]] = [[] for _ in range(n)]
        self.account_rows: dict[str, dict] = {}
        self.people: list[list[ident.Person]] = [[] for _ in range(n)]
        self.erp_codes: list[list[str]] = [[] for _ in range(n)]
        self.mkt_erp: list[list[str]] = [[] for _ in range(n)]  # opened by a campaign's order
        self.erp_rows: dict[str, dict] = {}
        self.invoices: list[list[Invoice]] = [[] for _ in range(n)]
        self.project: list[tuple | None] = [None] * n
        self.trial: list[tuple | None] = [None] * n
        self.registry_rows: dict[int, dict] = {}
        self.pending_accounts: list[list[int]] = [[] for _ in range(n)]
        self.reps = SALES_REPS[: max(4, min(len(SALES_REPS), n // 10))]
        self.owner = [self.reps[int(i)] for i in irng.integers(0, len(self.reps), size=n)]
        # identity noise decided once per company
        self.n_accounts = 1 + (irng.random(n) < noise) + (irng.random(n) < noise / 3)
        self.extra_erp = irng.random(n) < 0.6 * noise
        self.erp_extra_made = np.zeros(n, dtype=bool)
        # realised history for the labels
        self.order_company = array("i")
        self.order_day = array("i")
        self.inv_company = array("i")
        self.inv_issue = array("i")
        self.inv_default = array("i")  # day it became 90+ dpd, or -1
        self.inv_pos: dict[str, int] = {}
        self.materials = [list(m) for m in MATERIALS]
        self.by_family: dict[int, list[int]] = {}
        self._index_materials()
        self.knobs(None, None, None)
        self.free_text(None)
        self.marketing(None)

    def knobs(self, foreign: dict | None, hubs, rng: np.random.Generator | None) -> None:
        """The world knobs: companies abroad (company -> abroad.Foreign) and shared
        placeholders; None for a knob at 0, which then draws nothing."""
        self.foreign = foreign
        self.hubs = hubs
        self.knob_rng = rng

    def free_text(
        self, rng: np.random.Generator | None, encodings: dict[str, str] | None = None, abroad=()
    ) -> None:
        """Write free text from `rng` (see texts.TextWriter); None: the text columns stay
        empty and test feedback keeps its fixed phrases, the files of a world without texts."""
        self.texts = None if rng is None else TextWriter(rng, self.w, encodings or {}, abroad)

    def marketing(self, rng: np.random.Generator | None) -> None:
        """Run marketing campaigns drawn from `rng` (see marketing.py); None: no campaigns,
        and nothing is drawn for them."""
        self.mkt = None if rng is None else mkt.Marketing(self, rng)
        self._in_mkt = False

    @contextlib.contextmanager
    def _marketing_draws(self):
        """Inside, every generator the events draw from is the marketing one, and no person
        is added to a company: what a campaign adds leaves the other streams as they were."""
        saved = (self.rng, self.irng, self.knob_rng, self.hubs and self.hubs.rng)
        r = self.mkt.rng
        self.rng = self.irng = r
        self.knob_rng = None if saved[2] is None else r
        if self.hubs is not None:
            self.hubs.rng = r
        self._in_mkt = True
        try:
            yield
        finally:
            self.rng, self.irng, self.knob_rng = saved[:3]
            if self.hubs is not None:
                self.hubs.rng = saved[3]
            self._in_mkt = False

    # ------------------------------------------------------------------ helpers
    def _next(self, kind: str) -> int:
        self.seq[kind] = self.seq.get(kind, 0) + 1
        return self.seq[kind]

    def _index_materials(self) -> None:
        self.by_family = {}
        for i, mat in enumerate(self.materials):
            self.by_family.setdefault(FAMILIES.index(mat[1]), []).append(i)

    def _sec(self, day: int, early: float = 8.5, late: float = 19.0) -> int:
        return day * DAY + int(self.rng.uniform(early, late) * 3600)

    def _isec(self, day: int) -> int:
        """Like `_sec` for records whose number depends on identity noise."""
        return day * DAY + int(self.irng.uniform(8.5, 19.0) * 3600)

    def _versions(
        self,
        src: str,
        table: str,
        versions: list[tuple[int, dict]],
        company: int,
        person: ident.Person | None = None,
        texts: dict[str, Text | None] | None = None,
    ):
        """Emit the last version of each month; the first emitted one carries the truth
        (the company, and the person the record names if any), and each text's truth goes
        with the first emitted version that carries its column."""
        by_month: dict[int, dict] = {}
        for sec, row in versions:
            by_month[max(0, self.cal.month_of_day(sec // DAY))] = row
        first = True
        pid = None if person is None else person.person_id
        pending = {col: t for col, t in (texts or {}).items() if t is not None}
        for month in sorted(by_month):
            row = by_month[month]
            truth = (self.w.ids[company], pid) if first else (None, None)
            carried = [(col, pending.pop(col)) for col in list(pending) if col in row]
            self.out.row(month, src, table, row, *truth, carried or None)
            first = False

    def _emit(
        self,
        sec: int,
        src: str,
        table: str,
        row: dict,
        company: int | None,
        person: ident.Person | None = None,
        texts: list[tuple[str, Text]] | None = None,
    ) -> None:
        cid = None if company is None else self.w.ids[company]
        pid = None if company is None or person is None else person.person_id
        month = max(0, self.cal.month_of_day(sec // DAY))
        self.out.row(month, src, table, row, cid, pid, texts)

    def _phone(self, c: int) -> str:
        if self.foreign and c in self.foreign:
            return abroad.company_phone(self.foreign[c], self.noise, self.knob_rng, national=False)
        idn = self.w.identities[c]
        return ident.format_landline(*idn.switchboard, self.noise, self.irng)

    def _knobs(self, c: int, table: str, row: dict) -> dict:
        """Apply the world knobs to a new identity record of `table` ("crm.accounts", ...)."""
        if self.foreign is not None and table in ("crm.accounts", "erp.customers"):
            abroad.fill(self.foreign.get(c), row, self.noise, self.knob_rng)
        if self.hubs is not None:
            self.hubs.fill(c, table, row, self.noise)
        return row

    def _credit(self, c: int, missing: float, mistyped: float) -> str:
        code = self.w.credit_code[c]
        if not code:  # abroad: not in the Chinese registry
            return ""
        u = self.irng.random()
        if u < missing:
            return ""
        if u < missing + mistyped:
            return uscc.mistype(code, self.irng)
        if self.irng.random() < self.noise / 2:
            # formatting noise that normalisation undoes
            return code.lower() if self.irng.random() < 0.5 else f"{code[:8]} {code[8:]}"
        return code

    def _person(self, c: int) -> ident.Person:
        pool = self.people[c]
        if self._in_mkt and pool:
            return pool[int(self.irng.integers(len(pool)))]
        if not pool or (len(pool) < 6 and self.irng.random() < 0.05):
            p = self._new_person(c)
            p.person_id = f"P{self._next('person'):07d}"
            pool.append(p)
            return p
        return pool[int(self.irng.integers(len(pool)))]

    def _new_person(self, c: int) -> ident.Person:
        p = ident.person(self.w.identities[c], self.w.ctype[c] == 0, self.noise, self.irng)
        if self.foreign and c in self.foreign:
            domain = self.w.identities[c].domain
            return abroad.person(self.foreign[c], self.noise, self.knob_rng, domain)
        return p

    def _account(self, c: int) -> str:
        accts = self.accounts[c]
        if len(accts) > 1 and self.irng.random() < 0.3:
            return accts[int(self.irng.integers(1, len(accts)))]
        return accts[0]

    # ------------------------------------------------------------------ catalog + registry
    def _catalog(self, m: int, month_start: int) -> None:
        if m == 0:
            for mat in self.materials:
                self._material_row(0, mat, first=True)
        for when, mat in NEW_MATERIALS:
            if when == m:
                self.materials.append(list(mat))
                self._index_materials()
                self._material_row(m, self.materials[-1], first=True)
        if m > 0 and m % 6 == 0:
            for mat in self.materials:
                if self.rng.random() < 0.3:
                    mat[6] = round(mat[6] * float(self.rng.uniform(0.9, 1.12)), 2)
                    self._material_row(m, mat, first=False)

    def _material_row(self, m: int, mat: list, first: bool) -> None:
        row = {
            "material_id": mat[0], "material_family": mat[1], "grade": mat[2],
            "name_cn": mat[3], "name_en": mat[4], "unit": mat[5],
            "list_price_cny": f"{mat[6]:.2f}",
        }  # fmt: skip
        self.out.row(m, "catalog", "materials", row, "" if first else None)

    def _registry_first(self, c: int) -> None:
        w = self.w
        idn = w.identities[c]
        province, city = ident.CITIES[idn.city_idx][0], ident.CITIES[idn.city_idx][1]
        row = {
            "credit_code": w.credit_code[c],
            "legal_name": idn.legal_name,
            "english_name": idn.english_name,
            "legal_form": idn.legal_form,
            "province": province,
            "city": city,
            "address": idn.address,
            "industry": ident.INDUSTRY_CN[ident.INDUSTRIES[w.industry[c]]][1],
            "registered_capital_cny": f"{w.capital[c]:.2f}",
            "founded_date": self.cal.date(int(w.founded_day[c])),
            "status": "存续" if self.rng.random() < 0.7 else "在业",
            "updated_at": self.cal.ts(self._sec(int(w.entry_day[c]))),
        }
        self.registry_rows[c] = row
        if w.credit_code[c]:  # companies abroad have no registry row
            self._emit(int(w.entry_day[c]) * DAY, "registry", "companies", row, c)

    def _registry_change(self, c: int, day: int, **changes) -> None:
        row = dict(self.registry_rows[c])
        row.update(changes)
        row["updated_at"] = self.cal.ts(self._sec(day))
        self.registry_rows[c] = row
        if self.w.credit_code[c]:
            self._emit(day * DAY, "registry", "companies", row, None)

    # ------------------------------------------------------------------ CRM / ERP entities
    def _enter(self, c: int) -> None:
        """The company becomes known: registry fact, CRM account(s), first contacts."""
        w = self.w
        entry = int(w.entry_day[c])
        self._registry_first(c)
        self._new_account(c, entry, primary=True)
        extra = [
            entry + int(d) for d in self.irng.integers(20, 900, size=int(self.n_accounts[c]) - 1)
        ]
        self.pending_accounts[c] = sorted(extra)
        if w.init_r[c] != dyn.PROSPECT and entry < 0:
            self._new_erp(c, min(-1, entry + int(self.rng.integers(5, 120))))
        for _ in range(1 + int(w.size[c] > 0.4)):
            self._new_contact(c, entry + int(self.rng.integers(0, 30)))

    def _new_account(self, c: int, day: int, primary: bool) -> None:
        w, idn, noise = self.w, self.w.identities[c], self.noise
        acc = f"A{self._next('account'):07d}"
        self.accounts[c].append(acc)
        province, city = ident.CITIES[idn.city_idx][0], ident.CITIES[idn.city_idx][1]
        ind_cn = ident.INDUSTRY_CN[ident.INDUSTRIES[w.industry[c]]][0]
        ctype = CUSTOMER_TYPES[w.ctype[c]]
        if self.irng.random() < noise:
            ctype = "" if self.irng.random() < 0.5 else CUSTOMER_TYPES[int(self.irng.integers(4))]
        if self.irng.random() < noise:
            ind_cn = ""
        name_share = 2 * noise if primary else min(0.95, 4 * noise)
        person = self._person(c)
        row = {
            "account_id": acc,
            "account_name": ident.pick_name(idn, name_share, self.irng),
            "city": city if self.irng.random() >= noise else ident.city_short(city),
            "province": province if self.irng.random() >= noise else "",
            "industry": ind_cn,
            "customer_type": ctype,
            "credit_code": self._credit(c, min(1.0, 2 * noise), noise / 3),
            "phone": self._phone(c),
            "email": ident.format_email(person.email, noise, self.irng),
            "address": ident.address_variant(idn.address, self.irng, noise),
            "owner_sales": self.owner[c]
            if primary
            else self.reps[int(self.irng.integers(len(self.reps)))],
            "created_at": self.cal.ts(self._isec(day)),
            "updated_at": "",
        }
        row["updated_at"] = row["created_at"]
        self._knobs(c, "crm.accounts", row)
        self.account_rows[acc] = row
        self._emit(day * DAY, "crm", "accounts", row, c)

    def _new_contact(self, c: int, day: int, account: str | None = None) -> None:
        p = self._person(c)
        row = {
            "contact_id": f"CT{self._next('contact'):07d}",
            "account_id": account or self._account(c),
            "contact_name": p.name,
            "title": p.title,
            "phone": ident.format_mobile(p.mobile, self.noise, self.irng),
            "email": ident.format_email(p.email, self.noise, self.irng),
            "created_at": self.cal.ts(self._sec(day)),
        }
        self._emit(day * DAY, "crm", "contacts", row, c, p)

    def _new_erp(self, c: int, day: int, sec: int | None = None, mkt: bool = False) -> str:
        """A new ERP customer record; `mkt`: opened by a campaign's order (kept apart from
        the baseline's records, whose number decides later draws)."""
        w, idn, noise = self.w, self.w.identities[c], self.noise
        n = len(self.erp_codes[c])
        code = f"K{self._next('erp'):06d}" if n == 0 else f"K{self._next('erp'):06d}-{n}"
        (self.mkt_erp if mkt else self.erp_codes)[c].append(code)
        province, city = ident.CITIES[idn.city_idx][0], ident.CITIES[idn.city_idx][1]
        person = self._person(c)
        sec = self._isec(day) if sec is None else sec
        row = {
            "customer_code": code,
            "customer_name": ident.pick_name(
                idn, noise if n == 0 else min(0.9, 3 * noise), self.irng
            ),
            "tax_id": self._credit(c, noise / 2, noise / 3),
            "city": city,
            "province": province,
            "address": ident.address_variant(idn.address, self.irng, noise),
            "phone": self._phone(c),
            "contact_person": person.name,
            "credit_limit_cny": f"{self._credit_limit(c):.2f}",
            "payment_terms_days": str(int(w.terms[c])),
            "created_at": self.cal.ts(sec),
            "updated_at": self.cal.ts(sec),
        }
        self._knobs(c, "erp.customers", row)
        self.erp_rows[code] = row
        self._emit(sec, "erp", "customers", row, c, person)
        return code

    def _credit_limit(self, c: int) -> float:
        base = 2e5 + 5e6 * self.w.size[c] ** 1.5
        mult = (1.0, 0.6, 0.25)[int(self.state.f[c])]
        return round(base * mult * float(self.irng.lognormal(0, 0.1)), -3)

    # ------------------------------------------------------------------ the month
    def month(self, m: int) -> None:
        cal, w, rng = self.cal, self.w, self.rng
        ms, dm = cal.month_start[m], cal.month_days[m]
        self._catalog(m, ms)

        entering = np.nonzero(~self.entered & (w.entry_day < ms + dm))[0]
        for c in entering:
            self._enter(int(c))
        self.entered[entering] = True
        # duplicate accounts created later than the primary
        active = self.entered & ~self.state.closed
        st, tr = self.state, self.traits
        moy = cal.month_of_year(m)

        lam, cancel = dyn.order_rate(st, tr, moy)
        lam = np.where(active, lam, 0.0)
        # the entering month is partial
        frac = np.clip((ms + dm - np.maximum(w.entry_day, ms)) / dm, 0.0, 1.0)
        n_orders = rng.poisson(lam * frac)

        r, f, p = st.r, st.f, st.p
        research = w.ctype == 0
        sample_rate = (
            (0.05 + 0.35 * w.tech)
            * np.array([1.6, 1.2, 0.5, 0.2, 0.05])[r]
            * np.where(w.burst, np.array([0.4, 4.0, 0.5])[p], 1.0)
            * np.where(research, 2.0, 1.0)
        )
        n_samples = rng.poisson(np.where(active, sample_rate * frac, 0.0))
        ticket_rate = (
            (0.06 + 0.3 * w.size)
            * np.array([0.2, 1.2, 1.0, 2.8, 0.3])[r]
            * np.where(n_orders > 0, 1.3, 0.8)
            + 0.25 * (f == dyn.STRESSED)
            + 0.35 * (f == dyn.DISTRESSED)
        )
        n_tickets = rng.poisson(np.where(active, ticket_rate * frac, 0.0))
        out_rate = 0.8 + 2.5 * w.size
        in_rate = (
            (0.3 + 1.2 * w.size)
            * np.array([0.9, 1.4, 1.0, 0.35, 0.08])[r]
            * np.where(w.burst, np.array([0.6, 2.2, 1.0])[p], 1.0)
        )
        n_out = rng.poisson(np.where(active, out_rate * frac, 0.0))
        n_in = rng.poisson(np.where(active, in_rate * frac, 0.0))
        # campaigns of the month: their treated members' order effects (mkt_rng only)
        effects = {} if self.mkt is None else self.mkt.month(m, lam * frac, cancel)

        for c in np.nonzero(active)[0]:
            c = int(c)
            eff = effects.get(c)
            for _ in range(int(n_orders[c])):
                ghost = eff is not None and eff.keep < 1.0 and self.mkt.rng.random() >= eff.keep
                self._order(c, ms, dm, float(cancel[c]), ghost=ghost)
            if eff is not None and eff.extra > 0:
                with self._marketing_draws():
                    for _ in range(int(self.mkt.rng.poisson(eff.extra))):
                        self._order(c, ms, dm, float(cancel[c]), mkt=True)
            for _ in range(int(n_samples[c])):
                self._sample(c, ms, dm)
            for _ in range(int(n_tickets[c])):
                self._ticket(c, ms, dm)
            for _ in range(int(n_out[c])):
                self._interaction(c, ms, dm, outbound=True)
            for _ in range(int(n_in[c])):
                self._interaction(c, ms, dm, outbound=False)
            while self.pending_accounts[c] and self.pending_accounts[c][0] < ms + dm:
                self._new_account(c, self.pending_accounts[c].pop(0), primary=False)
            if rng.random() < 0.03:
                self._new_contact(c, ms + int(rng.integers(dm)))
            if rng.random() < 0.025:
                self._account_update(c, ms + int(rng.integers(dm)))
            if m % 3 == 0 and self.erp_codes[c] and rng.random() < 0.5:
                self._credit_review(c, ms + int(rng.integers(dm)))
            if rng.random() < 0.004 + 0.01 * (st.r[c] == dyn.GROWING):
                cap = round(float(self.registry_rows[c]["registered_capital_cny"]) * 1.5, -4)
                self._registry_change(
                    c, ms + int(rng.integers(dm)), registered_capital_cny=f"{cap:.2f}"
                )
        self._payments(m, ms, dm)
        self._projects_and_closures(m, ms, dm)
        if self.mkt is not None:
            self.mkt.observe(m, n_samples, n_tickets)

    def after_month(self, m: int) -> None:
        """Move the latent state to the next month (entered companies only)."""
        nxt = dyn.transition(self.state, self.traits, self.rng)
        keep = ~self.entered
        for name in ("r", "f", "p", "j", "closed"):
            cur = getattr(self.state, name)
            setattr(self.state, name, np.where(keep, cur, getattr(nxt, name)))

    # ------------------------------------------------------------------ for the oracle
    def open_invoices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        comp, due, sday, frozen = [], [], [], []
        for c in range(self.w.n):
            for inv in self.invoices[c]:
                if inv.ghost:
                    continue
                comp.append(c)
                due.append(inv.due_day)
                sday.append(inv.s_day)
                frozen.append(inv.frozen)
        return (np.array(comp, dtype=np.int64), np.array(due, dtype=np.int64),
                np.array(sday, dtype=np.int64), np.array(frozen, dtype=bool))  # fmt: skip

    def finish(self) -> None:
        """Invoices still unpaid at the end: 90+ dpd on due+90 if that is inside history."""
        for c in range(self.w.n):
            for inv in self.invoices[c]:
                if inv.due_day + 90 < self.cal.end_day and not inv.ghost:
                    self.inv_default[self.inv_pos[inv.invoice_id]] = inv.due_day + 90
