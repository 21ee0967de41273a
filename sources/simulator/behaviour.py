"""Month-by-month behaviour: latent state -> records in CRM, ERP, lab, service, projects,
registry and catalog. State lives in per-company arrays; each month's rows stream to disk.

Two generators: `rng` draws everything about the latent process and the timing of events,
`irng` only how identities are written (name variants, phone formats, which duplicate
account a rep used), so `identity_noise` changes the mess but never the behaviour.
"""

from __future__ import annotations

import bisect
import functools
from array import array
from dataclasses import dataclass

import numpy as np

from sources.simulator import dynamics as dyn
from sources.simulator import identity as ident
from sources.simulator import uscc
from sources.simulator.world import CUSTOMER_TYPES, FAMILIES, MATERIALS, NEW_MATERIALS, World
from sources.simulator.writer import Calendar, Landing

DAY = 86400
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
CHANNELS = ("visit", "phone", "wechat", "email", "exhibition", "online_meeting")
OUT_SUBJECTS = ("季度回访", "报价跟进", "新品推介", "交期确认", "年度框架协议沟通")
IN_SUBJECTS = ("询价", "技术咨询", "新项目需求沟通", "规格确认", "交期咨询")
FEEDBACK_COMMENTS = {
    "pass": ("各项指标满足要求", "测试通过，准备小批量试用", "性能稳定，符合规格"),
    "fail": ("关键参数未达标", "批次一致性差", "杂质含量偏高"),
    "conditional": ("基本满足，需调整粒径分布", "部分指标临界，需复测", "可用但需改进包装"),
}
TICKET_CATEGORIES = (
    "quality",
    "delivery",
    "technical",
    "return",
    "replacement",
    "billing",
    "consultation",
)
SEVERITIES = ("low", "medium", "high", "critical")


@functools.cache
def _cdf(p: tuple[float, ...]) -> list[float]:
    cdf = np.cumsum(np.array(p, dtype=float))
    cdf /= cdf[-1]
    return cdf.tolist()


def _draw(rng: np.random.Generator, p: tuple[float, ...]) -> int:
    """`int(rng.choice(len(p), p=p))` with the same uniform and the same answer (that is how
    numpy draws it), without choice's per-call validation: ~15x faster, a million calls."""
    return bisect.bisect_right(_cdf(p), rng.random())


@dataclass
class Invoice:
    invoice_id: str
    code: str
    company: int
    due_day: int
    s_day: int  # scheduled payment day (due + delay drawn from the financial state)
    amount: float
    frozen: bool = False
    split: bool = False


class Simulator:
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

    def _versions(self, src: str, table: str, versions: list[tuple[int, dict]], company: int):
        """Emit the last version of each month; the first emitted one carries the truth."""
        by_month: dict[int, dict] = {}
        for sec, row in versions:
            by_month[max(0, self.cal.month_of_day(sec // DAY))] = row
        first = True
        for month in sorted(by_month):
            self.out.row(month, src, table, by_month[month], self.w.ids[company] if first else None)
            first = False

    def _emit(self, sec: int, src: str, table: str, row: dict, company: int | None) -> None:
        cid = None if company is None else self.w.ids[company]
        self.out.row(max(0, self.cal.month_of_day(sec // DAY)), src, table, row, cid)

    def _phone(self, c: int) -> str:
        idn = self.w.identities[c]
        return ident.format_landline(*idn.switchboard, self.noise, self.irng)

    def _credit(self, c: int, missing: float, mistyped: float) -> str:
        code = self.w.credit_code[c]
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
        if not pool or (len(pool) < 6 and self.irng.random() < 0.05):
            p = ident.person(self.w.identities[c], self.w.ctype[c] == 0, self.noise, self.irng)
            pool.append(p)
            return p
        return pool[int(self.irng.integers(len(pool)))]

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
        self._emit(int(w.entry_day[c]) * DAY, "registry", "companies", row, c)

    def _registry_change(self, c: int, day: int, **changes) -> None:
        row = dict(self.registry_rows[c])
        row.update(changes)
        row["updated_at"] = self.cal.ts(self._sec(day))
        self.registry_rows[c] = row
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
        self._emit(day * DAY, "crm", "contacts", row, c)

    def _new_erp(self, c: int, day: int, sec: int | None = None) -> str:
        w, idn, noise = self.w, self.w.identities[c], self.noise
        n = len(self.erp_codes[c])
        code = f"K{self._next('erp'):06d}" if n == 0 else f"K{self._next('erp'):06d}-{n}"
        self.erp_codes[c].append(code)
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
        self.erp_rows[code] = row
        self._emit(sec, "erp", "customers", row, c)
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

        for c in np.nonzero(active)[0]:
            c = int(c)
            for _ in range(int(n_orders[c])):
                self._order(c, ms, dm, float(cancel[c]))
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

    def after_month(self, m: int) -> None:
        """Move the latent state to the next month (entered companies only)."""
        nxt = dyn.transition(self.state, self.traits, self.rng)
        keep = ~self.entered
        for name in ("r", "f", "p", "j", "closed"):
            cur = getattr(self.state, name)
            setattr(self.state, name, np.where(keep, cur, getattr(nxt, name)))

    # ------------------------------------------------------------------ events
    def _order(self, c: int, ms: int, dm: int, cancel_p: float) -> None:
        rng, w = self.rng, self.w
        day = ms + int(rng.integers(dm))
        t0 = self._sec(day)
        cancelled = rng.random() < cancel_p
        n_lines = 1 + int(rng.poisson(0.4 + 1.2 * w.size[c]))
        lead = int(rng.integers(3, 21))
        delay = int(
            rng.integers(dyn.DELAY_LOW[self.state.f[c]], dyn.DELAY_HIGH[self.state.f[c]] + 1)
        )
        changed = rng.random() < 0.05 + 0.2 * w.tech[c]
        change_day = int(rng.integers(1, min(lead, 10) + 1))
        cancel_day = int(rng.integers(1, 16))
        if not self.erp_codes[c]:
            self._new_erp(c, day, t0 - int(rng.integers(600, 7200)))
        if self.extra_erp[c] and not self.erp_extra_made[c] and self.irng.random() < 0.2:
            self.erp_extra_made[c] = True
            self._new_erp(c, day, t0 - 300)
        codes = self.erp_codes[c]
        code = codes[0] if len(codes) == 1 or self.irng.random() < 0.7 else codes[-1]
        order_id = f"SO{self.cal.firsts[self.cal.month_of_day(day)]:%Y%m}{self._next('order'):07d}"
        total = 0.0
        fams = w.families[c]
        discount_base = 0.02 + 0.16 * (1 - w.tech[c])
        for ln in range(1, n_lines + 1):
            fam = int(
                fams[0]
                if rng.random() < 0.6
                else fams[1]
                if rng.random() < 0.8
                else rng.integers(6)
            )
            opts = self.by_family[fam]
            mat = self.materials[opts[int(rng.integers(len(opts)))]]
            qty = max(1.0, round(float(rng.lognormal(np.log(20 + 400 * w.size[c] ** 2), 0.8)), 1))
            qty = min(qty, 5e4 / max(1.0, mat[6]) * 100)
            disc = float(np.clip(discount_base + rng.normal(0, 0.03), -0.02, 0.35))
            price = round(mat[6] * (1 - disc), 2)
            amount = round(qty * price, 2)
            total += amount
            self._emit(t0, "erp", "order_lines", {
                "order_id": order_id, "line_no": str(ln), "material_id": mat[0],
                "quantity": f"{qty:.1f}", "unit": mat[5], "unit_price_cny": f"{price:.2f}",
                "list_price_cny": f"{mat[6]:.2f}", "amount_cny": f"{amount:.2f}",
            }, c)  # fmt: skip
        base = {"order_id": order_id, "customer_code": code, "ordered_at": self.cal.ts(t0),
                "total_amount_cny": f"{total:.2f}"}  # fmt: skip
        versions = [(t0, {**base, "status": "confirmed", "change_count": "0",
                          "updated_at": self.cal.ts(t0)})]  # fmt: skip
        if cancelled:
            t = t0 + cancel_day * DAY
            versions.append((t, {**base, "status": "cancelled", "change_count": "0",
                                 "updated_at": self.cal.ts(t)}))  # fmt: skip
            self._versions("erp", "orders", versions, c)
            return
        n_changes = 0
        if changed:
            n_changes = 1 + int(rng.random() < 0.25)
            t = t0 + change_day * DAY
            versions.append((t, {**base, "status": "changed", "change_count": str(n_changes),
                                 "updated_at": self.cal.ts(t)}))  # fmt: skip
        t_del = t0 + lead * DAY
        versions.append((t_del, {**base, "status": "delivered", "change_count": str(n_changes),
                                 "updated_at": self.cal.ts(t_del)}))  # fmt: skip
        self._versions("erp", "orders", versions, c)
        self.order_company.append(c)
        self.order_day.append(day)

        issue = day + lead
        due = issue + int(w.terms[c])
        inv = Invoice(f"INV{self._next('invoice'):08d}", code, c, due, due + delay, total)
        inv.split = rng.random() < 0.15
        self.invoices[c].append(inv)
        self.inv_pos[inv.invoice_id] = len(self.inv_company)
        self.inv_company.append(c)
        self.inv_issue.append(issue)
        self.inv_default.append(-1)
        t_issue = issue * DAY + int(rng.uniform(9, 18) * 3600)
        self._emit(t_issue, "erp", "invoices", {
            "invoice_id": inv.invoice_id, "order_id": order_id, "customer_code": code,
            "issued_at": self.cal.ts(t_issue), "due_at": self.cal.ts(due * DAY + 18 * 3600),
            "amount_cny": f"{total:.2f}",
        }, c)  # fmt: skip

    def _pay(self, inv: Invoice, day: int, amount: float) -> None:
        t = self._sec(day)
        self._emit(t, "erp", "payments", {
            "payment_id": f"PAY{self._next('payment'):08d}", "invoice_id": inv.invoice_id,
            "customer_code": inv.code, "paid_at": self.cal.ts(t), "amount_cny": f"{amount:.2f}",
        }, inv.company)  # fmt: skip

    def _settle(self, inv: Invoice, day: int) -> None:
        if day > inv.due_day + 90:
            self.inv_default[self.inv_pos[inv.invoice_id]] = inv.due_day + 90
        if inv.split:
            first = round(inv.amount * 0.6, 2)
            self._pay(inv, day, first)
            self._pay(inv, day + int(self.rng.integers(3, 10)), round(inv.amount - first, 2))
        else:
            self._pay(inv, day, inv.amount)

    def _payments(self, m: int, ms: int, dm: int) -> None:
        st = self.state
        end = ms + dm
        recovery_day = self.rng.integers(0, 10, size=self.w.n)
        for c in range(self.w.n):
            invs = self.invoices[c]
            if not invs:
                continue
            can_pay = st.f[c] != dyn.DISTRESSED and not st.closed[c]
            keep = []
            for inv in invs:
                if inv.frozen and can_pay:
                    self._settle(inv, ms + int(recovery_day[c]))
                elif not inv.frozen and ms <= inv.s_day < end:
                    if can_pay:
                        self._settle(inv, inv.s_day)
                    else:
                        inv.frozen = True
                        keep.append(inv)
                else:
                    keep.append(inv)
            self.invoices[c] = keep

    def _sample(self, c: int, ms: int, dm: int) -> None:
        rng, w, noise = self.rng, self.w, self.noise
        day = ms + int(rng.integers(dm))
        t0 = self._sec(day)
        fam = int(w.families[c][0] if rng.random() < 0.7 else rng.integers(6))
        opts = self.by_family[fam]
        mat = self.materials[opts[int(rng.integers(len(opts)))]]
        r, p = int(self.state.r[c]), int(self.state.p[c])
        if w.ctype[c] == 0:
            purpose = "research"
        elif r == dyn.PROSPECT or p == dyn.QUALIFYING:
            purpose = "qualification"
        elif w.tech[c] < 0.4 and rng.random() < 0.6:
            purpose = "cost_down"
        else:
            purpose = ("qualification", "replacement")[int(rng.random() < 0.4)]
        tol = round(max(0.5, 12 * (1 - w.tech[c]) + rng.normal(0, 1.5)), 1)
        shipped = t0 + int(rng.integers(2, 11)) * DAY
        person = self._person(c)
        req = f"SR{self._next('sample'):08d}"
        base = {
            "request_id": req,
            "requester_org": ident.pick_name(
                w.identities[c], min(0.9, 3 * noise), self.irng, lab=True
            ),
            "contact_name": person.name,
            "phone": ident.format_mobile(person.mobile, noise, self.irng),
            "email": ident.format_email(person.email, noise, self.irng),
            "material_id": mat[0],
            "purpose": purpose,
            "spec_params": mat[7],
            "spec_tolerance_pct": f"{tol:.1f}",
            "requested_at": self.cal.ts(t0),
        }
        self._versions(
            "lab",
            "sample_requests",
            [(t0, base), (shipped, {**base, "shipped_at": self.cal.ts(shipped)})],
            c,
        )
        if rng.random() < 0.75:
            received = shipped + int(rng.integers(10, 41)) * DAY
            p_pass = (
                0.45
                + 0.25 * (r == dyn.PROSPECT or p == dyn.QUALIFYING)
                - 0.2 * (r == dyn.DECLINING)
            )
            u = rng.random()
            result = "pass" if u < p_pass else "fail" if u < p_pass + 0.2 else "conditional"
            comments = FEEDBACK_COMMENTS[result]
            self._emit(received, "lab", "test_feedback", {
                "feedback_id": f"FB{self._next('feedback'):08d}", "request_id": req,
                "received_at": self.cal.ts(received), "result": result,
                "comments": comments[int(rng.integers(len(comments)))],
            }, c)  # fmt: skip

    def _ticket(self, c: int, ms: int, dm: int) -> None:
        rng, w, noise = self.rng, self.w, self.noise
        r, f = int(self.state.r[c]), int(self.state.f[c])
        day = ms + int(rng.integers(dm))
        t0 = self._sec(day)
        if r == dyn.DECLINING:
            probs = (0.3, 0.22, 0.08, 0.15, 0.1, 0.05, 0.1)
        elif f != dyn.HEALTHY:
            probs = (0.1, 0.1, 0.1, 0.05, 0.05, 0.45, 0.15)
        else:
            probs = (0.12, 0.12, 0.28, 0.04, 0.04, 0.05, 0.35)
        cat = TICKET_CATEGORIES[_draw(rng, probs)]
        sev_p = (0.15, 0.35, 0.35, 0.15) if r == dyn.DECLINING else (0.4, 0.4, 0.15, 0.05)
        sev_i = _draw(rng, sev_p)
        closed = t0 + int(rng.exponential(2 + 3 * sev_i) * DAY) + 3600
        mu = (4.0, 4.3, 4.1, 2.6, 2.4)[r] - 0.3 * sev_i
        surveyed = rng.random() < 0.7
        score = int(np.clip(round(rng.normal(mu, 0.8)), 1, 5))
        person = self._person(c)
        codes = self.erp_codes[c]
        base = {
            "ticket_id": f"TK{self._next('ticket'):08d}",
            "customer_name": ident.pick_name(w.identities[c], min(0.9, 2.5 * noise), self.irng),
            "erp_customer_code": codes[0] if codes and self.irng.random() >= 2 * noise else "",
            "contact_phone": ident.format_mobile(person.mobile, noise, self.irng),
            "contact_email": ident.format_email(person.email, noise, self.irng),
            "category": cat,
            "severity": SEVERITIES[sev_i],
            "opened_at": self.cal.ts(t0),
        }
        done = {
            **base,
            "closed_at": self.cal.ts(closed),
            "satisfaction": str(score) if surveyed else "",
        }
        self._versions("service", "tickets", [(t0, base), (closed, done)], c)

    def _interaction(self, c: int, ms: int, dm: int, outbound: bool) -> None:
        rng, w = self.rng, self.w
        r = int(self.state.r[c])
        day = ms + int(rng.integers(dm))
        ch = _draw(rng, (0.15, 0.3, 0.3, 0.12, 0.03, 0.1))
        t0 = self._sec(day, 8.0, 22.0 if ch == 2 else 19.0)
        overdue = any(inv.frozen or inv.s_day < day for inv in self.invoices[c]) and any(
            inv.due_day < day for inv in self.invoices[c]
        )
        if outbound:
            respond_p = (0.75, 0.92, 0.9, 0.45, 0.15)[r]
            median_h = (10.0, 4.0, 8.0, 72.0, 120.0)[r]
            if overdue and rng.random() < 0.5:
                subject = "付款提醒"
            else:
                subject = OUT_SUBJECTS[int(rng.integers(len(OUT_SUBJECTS)))]
        else:
            respond_p, median_h = 0.97, 3.0
            if r == dyn.DECLINING and rng.random() < 0.5:
                subject = "投诉反馈"
            elif w.tech[c] < 0.35 and rng.random() < 0.4:
                subject = "价格谈判"
            else:
                subject = IN_SUBJECTS[int(rng.integers(len(IN_SUBJECTS)))]
        responded = rng.random() < respond_p
        delay = int(rng.lognormal(np.log(median_h), 0.9) * 3600) + 60
        base = {
            "interaction_id": f"IX{self._next('interaction'):09d}",
            "account_id": self._account(c),
            "channel": CHANNELS[ch],
            "direction": "outbound" if outbound else "inbound",
            "occurred_at": self.cal.ts(t0),
            "subject": subject,
            "sales_rep": self.owner[c],
        }
        versions = [(t0, base)]
        if responded:
            versions.append((t0 + delay, {**base, "responded_at": self.cal.ts(t0 + delay)}))
        self._versions("crm", "interactions", versions, c)

    def _account_update(self, c: int, day: int) -> None:
        accts = self.accounts[c]
        acc = accts[int(self.irng.integers(len(accts)))]
        row = dict(self.account_rows[acc])
        u = self.irng.random()
        if u < 0.4:
            row["owner_sales"] = self.reps[int(self.irng.integers(len(self.reps)))]
        elif u < 0.7 and not row["credit_code"]:
            row["credit_code"] = self._credit(c, 0.0, self.noise / 3)
        else:
            row["phone"] = self._phone(c)
        created = row["created_at"]
        t = self._isec(day)
        if self.cal.ts(t) <= created:
            return
        row["updated_at"] = self.cal.ts(t)
        self.account_rows[acc] = row
        self._emit(t, "crm", "accounts", row, None)

    def _credit_review(self, c: int, day: int) -> None:
        for code in self.erp_codes[c]:
            row = dict(self.erp_rows[code])
            t = self._isec(day)
            if self.cal.ts(t) <= row["created_at"]:
                continue
            row["credit_limit_cny"] = f"{self._credit_limit(c):.2f}"
            row["updated_at"] = self.cal.ts(t)
            self.erp_rows[code] = row
            self._emit(t, "erp", "customers", row, None)

    def _projects_and_closures(self, m: int, ms: int, dm: int) -> None:
        """Projects follow J (co-development) and P (trials while qualifying); registry
        status follows closure. Runs after the month's events with this month's state."""
        rng, w, st = self.rng, self.w, self.state
        for c in np.nonzero(self.entered)[0]:
            c = int(c)
            day = ms + int(rng.integers(dm))
            if st.closed[c] and self.closed_day[c] > 10**6:
                self.closed_day[c] = day
                status = "吊销" if st.f[c] == dyn.DISTRESSED else "注销"
                self._registry_change(c, day, status=status)
            cur = self.project[c]
            if st.j[c] == 1 and cur is None:
                kind = (
                    "co_development"
                    if rng.random() < 0.5 + 0.5 * w.codev[c]
                    else ("supply_agreement")
                )
                self.project[c] = self._project_start(c, day, kind)
            elif st.j[c] == 0 and cur is not None:
                ok = st.r[c] in (dyn.GROWING, dyn.MATURE) and rng.random() < 0.85
                self._project_end(c, cur, day, "completed" if ok else "cancelled")
                self.project[c] = None
            trial = self.trial[c]
            if w.burst[c] and st.p[c] == dyn.QUALIFYING and trial is None:
                if rng.random() < 0.5:
                    self.trial[c] = self._project_start(c, day, "trial")
            elif trial is not None and st.p[c] != dyn.QUALIFYING:
                status = "completed" if st.p[c] == dyn.BUYING else "cancelled"
                self._project_end(c, trial, day, status)
                self.trial[c] = None

    def _project_start(self, c: int, day: int, kind: str) -> tuple:
        w, noise = self.w, self.noise
        t = self._sec(day)
        budget = round(float(self.rng.lognormal(np.log(3e5 + 3e6 * w.size[c]), 0.5)), -3)
        if kind == "trial":
            budget = round(budget / 10, -3)
        row = {
            "project_id": f"PRJ{self._next('project'):06d}",
            "partner_name": ident.pick_name(w.identities[c], noise, self.irng),
            "partner_credit_code": self._credit(c, noise, noise / 3),
            "project_type": kind,
            "status": "active",
            "started_at": self.cal.ts(t),
            "budget_cny": f"{budget:.2f}",
            "updated_at": self.cal.ts(t),
        }
        self._emit(t, "projects", "projects", row, c)
        return (row,)

    def _project_end(self, c: int, cur: tuple, day: int, status: str) -> None:
        row = dict(cur[0])
        t = self._sec(day)
        if self.cal.ts(t) <= row["started_at"]:
            t = self._sec(day + 1)
        row.update(status=status, ended_at=self.cal.ts(t), updated_at=self.cal.ts(t))
        self._emit(t, "projects", "projects", row, None)

    # ------------------------------------------------------------------ for the oracle
    def open_invoices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        comp, due, sday, frozen = [], [], [], []
        for c in range(self.w.n):
            for inv in self.invoices[c]:
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
                if inv.due_day + 90 < self.cal.end_day:
                    self.inv_default[self.inv_pos[inv.invoice_id]] = inv.due_day + 90
