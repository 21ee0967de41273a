"""The events of a month: orders and their invoices, payments, samples, tickets,
interactions, account and credit updates, projects and closures.

``Events`` is mixed into ``behaviour.Simulator``: its methods draw from the simulator's
generators and write through its helpers (``_sec``, ``_emit``, ``_versions``, ...). Free
text comes from ``self.texts`` (texts.TextWriter, its own generator) when it is set.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

import numpy as np

from sources.simulator import dynamics as dyn
from sources.simulator import identity as ident

DAY = 86400
CHANNELS = ("visit", "phone", "wechat", "email", "exhibition", "online_meeting")
OUT_SUBJECTS = ("季度回访", "报价跟进", "新品推介", "交期确认", "年度框架协议沟通")
IN_SUBJECTS = ("询价", "技术咨询", "新项目需求沟通", "规格确认", "交期咨询")
# the test feedback of a world without free text (still drawn with it: the stream stays put)
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


def _put(row: dict, column: str, text) -> None:
    """Write a free text (texts.Text or None: the column stays empty) into a row."""
    if text is not None:
        row[column] = text.text


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
    # marketing (see marketing.py): the invoice of an order a campaign added (its payments
    # draw from the marketing generator), or of a baseline order a campaign took away (its
    # draws happen, nothing is written: the other records stay as without the campaign)
    mkt: bool = False
    ghost: bool = False


class Events:
    """Orders, payments, samples, tickets, interactions, updates and projects (a mixin)."""

    def _order(
        self, c: int, ms: int, dm: int, cancel_p: float, ghost: bool = False, mkt: bool = False
    ) -> None:
        """One order, its lines, versions and invoice. `ghost`: a baseline order a campaign
        took away: every draw is made (the streams stay put) and nothing about it is
        written. `mkt`: an order a campaign added, drawn inside `_marketing_draws()`; it
        uses the baseline ERP customer record, or one of its own when there is none yet
        (the baseline's later first order still opens its record: the streams stay put)."""
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
        if mkt:
            if not self.erp_codes[c] and not self.mkt_erp[c]:
                self._new_erp(c, day, t0 - int(rng.integers(600, 7200)), mkt=True)
            code = (self.erp_codes[c] or self.mkt_erp[c])[0]
        else:
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
            if ghost:
                continue
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
            if not ghost:
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
        if not ghost:
            self._versions("erp", "orders", versions, c)
            self.order_company.append(c)
            self.order_day.append(day)

        issue = day + lead
        due = issue + int(w.terms[c])
        inv = Invoice(f"INV{self._next('invoice'):08d}", code, c, due, due + delay, total)
        inv.split = rng.random() < 0.15
        inv.mkt, inv.ghost = mkt, ghost
        self.invoices[c].append(inv)
        t_issue = issue * DAY + int(rng.uniform(9, 18) * 3600)
        if ghost:
            return
        self.inv_pos[inv.invoice_id] = len(self.inv_company)
        self.inv_company.append(c)
        self.inv_issue.append(issue)
        self.inv_default.append(-1)
        self._emit(t_issue, "erp", "invoices", {
            "invoice_id": inv.invoice_id, "order_id": order_id, "customer_code": code,
            "issued_at": self.cal.ts(t_issue), "due_at": self.cal.ts(due * DAY + 18 * 3600),
            "amount_cny": f"{total:.2f}",
        }, c)  # fmt: skip

    def _pay(self, inv: Invoice, day: int, amount: float) -> None:
        t = self._sec(day)
        payment_id = f"PAY{self._next('payment'):08d}"
        if inv.ghost:
            return
        self._emit(t, "erp", "payments", {
            "payment_id": payment_id, "invoice_id": inv.invoice_id,
            "customer_code": inv.code, "paid_at": self.cal.ts(t), "amount_cny": f"{amount:.2f}",
        }, inv.company)  # fmt: skip

    def _settle(self, inv: Invoice, day: int) -> None:
        if inv.mkt:
            with self._marketing_draws():
                self._settle_drawn(inv, day)
        else:
            self._settle_drawn(inv, day)

    def _settle_drawn(self, inv: Invoice, day: int) -> None:
        if day > inv.due_day + 90 and not inv.ghost:
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
        self._knobs(c, "lab.sample_requests", base)
        self._versions(
            "lab",
            "sample_requests",
            [(t0, base), (shipped, {**base, "shipped_at": self.cal.ts(shipped)})],
            c,
            person,
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
            row = {
                "feedback_id": f"FB{self._next('feedback'):08d}", "request_id": req,
                "received_at": self.cal.ts(received), "result": result,
                "comments": comments[int(rng.integers(len(comments)))],
            }  # fmt: skip
            texts = None
            if self.texts is not None:
                text = self.texts.feedback(c, fam, mat[0], result)
                row["comments"] = "" if text is None else text.text
                texts = None if text is None else [("comments", text)]
            self._emit(received, "lab", "test_feedback", row, c, texts=texts)

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
        self._knobs(c, "service.tickets", base)
        desc = note = None
        if self.texts is not None:
            desc, note = self.texts.ticket(c, cat)
            _put(base, "description", desc)
        done = {
            **base,
            "closed_at": self.cal.ts(closed),
            "satisfaction": str(score) if surveyed else "",
        }
        _put(done, "resolution_note", note)
        texts = {"description": desc, "resolution_note": note}
        self._versions("service", "tickets", [(t0, base), (closed, done)], c, person, texts)

    def _interaction(self, c: int, ms: int, dm: int, outbound: bool) -> None:
        rng, w = self.rng, self.w
        r = int(self.state.r[c])
        day = ms + int(rng.integers(dm))
        ch = _draw(rng, (0.15, 0.3, 0.3, 0.12, 0.03, 0.1))
        t0 = self._sec(day, 8.0, 22.0 if ch == 2 else 19.0)
        # the baseline's invoices (a campaign's own orders are left out, the orders it took
        # away kept: what the rep says stays as without the campaign, and so do the draws)
        invs = [inv for inv in self.invoices[c] if not inv.mkt]
        overdue = any(inv.frozen or inv.s_day < day for inv in invs) and any(
            inv.due_day < day for inv in invs
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
        notes = None
        if self.texts is not None:
            notes = self.texts.interaction(c, subject, outbound, CHANNELS[ch])
            _put(base, "notes", notes)
        versions = [(t0, base)]
        if responded:
            versions.append((t0 + delay, {**base, "responded_at": self.cal.ts(t0 + delay)}))
        self._versions("crm", "interactions", versions, c, texts={"notes": notes})

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
        text = None if self.texts is None else self.texts.project(c, kind)
        _put(row, "description", text)
        texts = None if text is None else [("description", text)]
        self._emit(t, "projects", "projects", row, c, texts=texts)
        return (row,)

    def _project_end(self, c: int, cur: tuple, day: int, status: str) -> None:
        row = dict(cur[0])
        t = self._sec(day)
        if self.cal.ts(t) <= row["started_at"]:
            t = self._sec(day + 1)
        row.update(status=status, ended_at=self.cal.ts(t), updated_at=self.cal.ts(t))
        self._emit(t, "projects", "projects", row, None)
