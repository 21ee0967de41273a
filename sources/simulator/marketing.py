"""Marketing campaigns with a known causal effect (`simulate(..., marketing=True)`).

From the fourth month on, each month runs one to three campaigns of the catalogue `TYPES`.
A campaign's audience follows its rule over what the company could see at the previous
month-end (orders, sample requests, tickets, customer type, when the account was opened),
never the hidden state; the audiences of one month are disjoint (a company is in at most
one campaign a month, so each member's potential outcomes are those of one campaign), and
a random share of each (0.2-0.5) is held out. Campaigns stop two months before the end of
the history, so every response window and every cancellation lands inside it.

The effect: in the campaign month a treated member's order intensity lam0 (orders a month,
cancelled ones included, `dynamics.order_rate`) becomes lam1 = k * lam0 + a, with k and a
from the campaign type and the member's hidden traits and state (`_effect`). The outcome
"converted: at least one order placed in the campaign month that is not cancelled" then
has the exact potential outcomes p0 = 1 - exp(-lam0 (1 - cancel)) and
p1 = 1 - exp(-lam1 (1 - cancel)), written per member, held out or not, to
`truth/campaign_members.csv` (tau = p1 - p0), and per campaign to `truth/campaigns.csv`.

The baseline draws stay as they were: the month's orders are drawn as without campaigns,
then a treated member with k < 1 loses each with probability 1 - k (a lost order's draws
are still made, nothing of it is written), and one with k > 1 or a > 0 gains
Poisson((k - 1) lam0 + a) orders drawn from this module's generator (`mkt_rng`). Record
numbers (order, invoice, payment ids) after a campaign's first added order shift.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sources.simulator import dynamics as dyn
from sources.simulator.events import DAY

FIRST_MONTH = 3  # campaigns from the fourth month on: there is some history to target
WINDOW_DAYS = 30
MIN_ARM = 10  # a campaign with fewer members in either arm is not run
KINDS = ("persuadable", "sure_thing", "lost_cause", "sleeping_dog", "unmoved")


@dataclass(frozen=True)
class CampaignType:
    code: str
    name: str  # the campaign's name, before its month
    goal: str  # acquire | grow | retain
    channel: str  # email | wechat | visit | exhibition | webinar
    offer: str
    content: str
    rule: str  # the audience rule as the marketing team wrote it
    fixed_cost: float  # CNY, drawn +-20 %
    member_cost: float  # CNY per treated member


TYPES = (
    CampaignType("perf_report", "新品性能报告推送", "grow", "email", "none", "performance_report",
                 "customers with sample requests in the last 12 months, or of research type",
                 3000, 0),
    CampaignType("preseason", "旺季前项目采购优惠", "grow", "visit", "volume_discount",
                 "price_list", "project-based buyers: ordered in the last 12 months, in at "
                 "most 3 different months", 0, 800),
    CampaignType("retention", "订单回落客户挽留", "retain", "wechat", "volume_discount",
                 "loyalty_offer", "ordered in the last 365 days but not in the last 90", 0, 0),
    CampaignType("winback", "沉睡客户唤醒", "acquire", "email", "free_sample", "case_study",
                 "no order in the last 365 days, account older than 180 days", 0, 150),
    CampaignType("webinar", "技术研讨会邀请", "grow", "webinar", "tech_seminar",
                 "webinar_invitation", "everyone active: an order, a sample request or a "
                 "ticket in the last 6 months", 0, 0),
    CampaignType("price_list", "年度价格表发布", "grow", "email", "volume_discount", "price_list",
                 "distributors and manufacturers that ordered in the last 6 months", 0, 0),
    CampaignType("newsletter", "客户通讯", "retain", "email", "none", "newsletter",
                 "every account", 0, 0),
    CampaignType("exhibition", "行业展会邀约", "grow", "exhibition", "tech_seminar",
                 "product_launch", "customers with 4 or more orders in the last 12 months",
                 40000, 300),
)  # fmt: skip

# per channel: P(delivered), P(opened | delivered), P(clicked | opened),
# P(replied | opened), P(sample_requested | clicked), P(meeting_booked | replied),
# P(unsubscribed | delivered); a visit is always delivered and never opened or clicked
# (its "replied" is the conversation, its sample request and meeting follow from that)
RATES = {
    "email": (0.95, 0.35, 0.25, 0.06, 0.10, 0.20, 0.015),
    "wechat": (0.98, 0.55, 0.30, 0.12, 0.08, 0.20, 0.02),
    "visit": (1.0, 0.0, 0.0, 0.60, 0.20, 0.35, 0.005),
    "exhibition": (0.95, 0.40, 0.30, 0.05, 0.12, 0.25, 0.01),
    "webinar": (0.95, 0.40, 0.30, 0.04, 0.08, 0.10, 0.01),
}
# per kind: multiplier of engagement (click, reply, sample, meeting) and of unsubscribing
KIND_ENGAGE = {"persuadable": 2.0, "sure_thing": 1.3, "unmoved": 1.0, "lost_cause": 0.3,
               "sleeping_dog": 0.6}  # fmt: skip
KIND_UNSUB = {"persuadable": 0.5, "sure_thing": 1.0, "unmoved": 1.0, "lost_cause": 2.0,
              "sleeping_dog": 8.0}  # fmt: skip


@dataclass
class Effect:
    """What a campaign does to a treated member's orders this month: each baseline order is
    kept with probability `keep`, and Poisson(`extra`) orders are added."""

    keep: float
    extra: float


class Marketing:
    """Plans each month's campaigns, writes the marketing export and keeps the truth."""

    def __init__(self, sim, rng: np.random.Generator):
        self.sim = sim
        self.rng = rng
        n, months = sim.w.n, sim.cal.months
        self.samples = np.zeros((months, n), dtype=np.int32)
        self.tickets = np.zeros((months, n), dtype=np.int32)
        self.campaigns: list[list] = []
        self.members: list[list] = []

    def observe(self, m: int, n_samples: np.ndarray, n_tickets: np.ndarray) -> None:
        """The month's sample requests and tickets per company (for later audience rules)."""
        self.samples[m] = n_samples
        self.tickets[m] = n_tickets

    # ------------------------------------------------------------------ what the team sees
    def _history(self, m: int) -> dict[str, np.ndarray]:
        """Per company, what the records show at the end of month m - 1."""
        sim, n = self.sim, self.sim.w.n
        oc = np.frombuffer(sim.order_company, dtype=np.int32)
        od = np.frombuffer(sim.order_day, dtype=np.int32)
        om = np.searchsorted(np.asarray(sim.cal.month_start), od, side="right") - 1
        seen = om < m

        def orders(months: int) -> np.ndarray:
            return np.bincount(oc[seen & (om >= m - months)], minlength=n)

        last12 = seen & (om >= m - 12)
        pairs = np.unique(oc[last12].astype(np.int64) * 1000 + om[last12])
        ms = sim.cal.month_start[m]
        return {
            "n3": orders(3), "n6": orders(6), "n12": orders(12),
            "order_months12": np.bincount(pairs // 1000, minlength=n),
            "s6": self.samples[max(0, m - 6) : m].sum(0),
            "s12": self.samples[max(0, m - 12) : m].sum(0),
            "t3": self.tickets[max(0, m - 3) : m].sum(0),
            "t6": self.tickets[max(0, m - 6) : m].sum(0),
            "known": sim.entered & (sim.w.entry_day < ms),
            "tenure": ms - sim.w.entry_day,
            "ctype": sim.w.ctype,
        }  # fmt: skip

    @staticmethod
    def _rule(code: str, h: dict[str, np.ndarray]) -> np.ndarray:
        """Who a campaign type picks: only what `_history` shows."""
        ct = h["ctype"]
        rules = {
            "perf_report": lambda: (h["s12"] > 0) | (ct == 0),
            "preseason": lambda: (h["n12"] > 0) & (h["order_months12"] <= 3),
            "retention": lambda: (h["n12"] > 0) & (h["n3"] == 0),
            "winback": lambda: (h["n12"] == 0) & (h["tenure"] >= 180),
            "webinar": lambda: h["n6"] + h["s6"] + h["t6"] > 0,
            "price_list": lambda: ((ct == 1) | (ct == 3)) & (h["n6"] > 0),
            "newsletter": lambda: np.ones(ct.shape[0], dtype=bool),
            "exhibition": lambda: h["n12"] >= 4,
        }
        return h["known"] & rules[code]()

    # ------------------------------------------------------------------ the true effect
    def _effect(self, t: CampaignType, idx: np.ndarray, h: dict) -> tuple[np.ndarray, np.ndarray]:
        """(k, a) of members `idx`: lam1 = k * lam0 + a. Built on hidden traits and state
        that leave traces in the records: tech orientation (sample requests, research
        type), project buying (lumpy orders), relationship (order trend), loyalty and
        financial distress (tickets, decline)."""
        w, st = self.sim.w, self.sim.state
        tech, loy, burst = w.tech[idx], w.loyalty[idx], w.burst[idx]
        research = w.ctype[idx] == 0
        r, f, p, closed = st.r[idx], st.f[idx], st.p[idx], st.closed[idx]
        zero = np.zeros(idx.size)
        declining, lost, prospect = r == dyn.DECLINING, r == dyn.LOST, r == dyn.PROSPECT
        if t.code == "perf_report":
            k = 1 + 2.5 * tech**3 * np.where(research, 1.3, 1.0)
            a = 0.2 * tech**3
        elif t.code == "preseason":
            k = np.where(burst, np.array([1.6, 2.2, 1.1])[p], 1.03)
            a = np.where(burst, np.array([0.06, 0.12, 0.0])[p], 0.0)
        elif t.code == "retention":
            k = np.where(declining, 1 + 2.5 * loy**2, 1.05)
            a = np.where(declining, 0.15 * loy**2, np.where(lost, 0.08 * loy**2, 0.0))
        elif t.code == "winback":
            k = np.where(declining, 1.3, 1.0)
            a = np.select([prospect, lost], [0.02 + 0.25 * tech**1.5, 0.25 * loy**2], 0.01)
        elif t.code == "webinar":
            k = 1 + 0.8 * tech**3 * np.where(research, 1.5, 1.0)
            a = 0.05 * tech**3
        elif t.code == "price_list":
            k = 1 + 1.2 * (1 - tech) ** 3
            a = 0.08 * (1 - tech) ** 3
        elif t.code == "newsletter":
            k = 0.97 + 0.06 * loy  # one more mail: the less loyal tire of it
            a = zero
        else:  # exhibition
            k = 1 + 0.6 * tech**2 + 0.2 * w.codev[idx]
            a = zero + 0.02
        if t.code not in ("winback", "retention"):
            a = np.where(lost, 0.0, np.where(prospect, 0.5 * a, a))
        # members differ beyond what anyone could see
        noise = self.rng.lognormal(0.0, 0.25, size=idx.size)
        k = 1 + (k - 1) * noise
        a = a * noise
        # sleeping dogs: low loyalty and trouble (distress, decline, recent complaints);
        # a visit or a message annoys them more than an invitation
        annoyed = (loy < 0.4) & ((f == dyn.DISTRESSED) | declining | (h["t3"][idx] >= 2))
        soft = t.channel in ("webinar", "exhibition")
        k = np.where(annoyed, (0.6 + 0.5 * loy) if soft else (0.3 + loy), k)
        a = np.where(annoyed | closed, 0.0, a)
        return k, a

    # ------------------------------------------------------------------ the month
    def month(self, m: int, lam0: np.ndarray, cancel: np.ndarray) -> dict[int, Effect]:
        """Plan and send the month's campaigns; the order effects of their treated members."""
        cal = self.sim.cal
        if m < FIRST_MONTH or m > cal.months - 3:
            return {}
        rng, h = self.rng, self._history(m)
        taken = np.zeros(self.sim.w.n, dtype=bool)
        effects: dict[int, Effect] = {}
        number = 0
        for ti in rng.permutation(len(TYPES))[: int(rng.integers(1, 4))]:
            t = TYPES[int(ti)]
            picked = self._rule(t.code, h) & ~taken
            picked &= np.array([bool(a) for a in self.sim.accounts])
            idx = np.nonzero(picked)[0]
            reach = rng.uniform(0.6, 1.0)  # the team does not get to everyone the rule finds
            idx = np.sort(idx[rng.random(idx.size) < reach])
            share = rng.uniform(0.2, 0.5)
            hold = np.zeros(idx.size, dtype=bool)
            hold[rng.permutation(idx.size)[: round(share * idx.size)]] = True
            if hold.sum() < MIN_ARM or (~hold).sum() < MIN_ARM:
                continue
            taken[idx] = True
            number += 1
            cid = f"MKT{cal.firsts[m]:%Y%m}-{number:02d}"
            self._run(m, cid, t, idx, hold, lam0[idx], cancel[idx], h, effects)
        return effects

    def _run(self, m, cid, t, idx, hold, lam0, cancel, h, effects) -> None:
        sim, cal, rng = self.sim, self.sim.cal, self.rng
        k, a = self._effect(t, idx, h)
        lam1 = k * lam0 + a
        p0 = 1 - np.exp(-lam0 * (1 - cancel))
        p1 = 1 - np.exp(-lam1 * (1 - cancel))
        tau = p1 - p0
        kind = np.select(
            [(k < 1) & (lam0 > 0), (p0 < 0.01) & (p1 < 0.01), p0 >= 0.85, tau >= 0.03],
            ["sleeping_dog", "lost_cause", "sure_thing", "persuadable"],
            "unmoved",
        )
        start = cal.month_start[m]
        created = start * DAY + int(rng.uniform(7.0, 8.5) * 3600)
        n_treat = int((~hold).sum())
        cost = t.fixed_cost * rng.uniform(0.8, 1.2) + t.member_cost * n_treat
        row = {
            "campaign_id": cid, "campaign_name": f"{cal.firsts[m]:%Y-%m} {t.name}",
            "goal": t.goal, "channel": t.channel, "offer": t.offer, "content": t.content,
            "audience_rule": t.rule, "cost_cny": f"{round(cost, -2):.2f}",
            "starts_on": cal.date(start), "ends_on": cal.date(start + WINDOW_DAYS - 1),
            "response_window_days": str(WINDOW_DAYS), "created_at": cal.ts(created),
        }  # fmt: skip
        sim.out.row(m, "marketing", "campaigns", row, "")
        for i, c in enumerate(idx.tolist()):
            acc = sim.accounts[c][0]
            pool = sim.people[c]
            email = pool[int(rng.integers(len(pool)))].email if pool else ""
            sent = "" if hold[i] else created + 1800 + int(rng.uniform(0, 8.5) * 3600)
            member = {
                "campaign_id": cid, "account_id": acc,
                "assignment": "holdout" if hold[i] else "treatment",
                "sent_at": "" if hold[i] else cal.ts(sent), "contact_email": email,
            }  # fmt: skip
            sim.out.row(m, "marketing", "audience_members", member, sim.w.ids[c])
            self.members.append([cid, sim.w.ids[c], acc, member["assignment"], kind[i],
                                 f"{lam0[i]:.6f}", f"{lam1[i]:.6f}", f"{cancel[i]:.4f}",
                                 f"{p0[i]:.6f}", f"{p1[i]:.6f}", f"{tau[i]:.6f}"])  # fmt: skip
            if hold[i]:
                continue
            self._responses(c, cid, acc, t.channel, str(kind[i]), sent, start)
            if k[i] != 1.0 or a[i] > 0:
                ki, extra = float(k[i]), float(a[i])
                extra += max(0.0, ki - 1) * float(lam0[i])
                effects[c] = Effect(keep=min(1.0, ki), extra=extra)
        ate, att = float(tau.mean()), float(tau[~hold].mean())
        self.campaigns.append([cid, cal.date(start), t.goal, t.channel, t.offer, n_treat,
                               int(hold.sum()), f"{ate:.6f}", f"{att:.6f}"])  # fmt: skip

    def _responses(self, c: int, cid: str, acc: str, channel: str, kind: str, sent: int,
                   start: int) -> None:  # fmt: skip
        """A treated member's response events, each inside the response window."""
        sim, rng = self.sim, self.rng
        deliv, open_, click, reply, sample, meet, unsub = RATES[channel]
        eng, uns = KIND_ENGAGE[kind], KIND_UNSUB[kind]
        tech = float(sim.w.tech[c])
        if sim.state.closed[c]:
            deliv *= 0.5  # bounces: nobody is there any more
        end = (start + WINDOW_DAYS) * DAY
        events: list[tuple[str, int]] = []

        def after(t0: int, hours: float, sigma: float = 1.0) -> int:
            return t0 + 60 + int(rng.lognormal(np.log(hours), sigma) * 3600)

        if rng.random() >= deliv:
            return
        t_del = sent if channel == "visit" else sent + int(rng.uniform(5, 600))
        events.append(("delivered", t_del))
        t_seen = t_del
        if channel != "visit" and rng.random() < open_ * min(2.0, 0.5 + 0.5 * eng):
            t_seen = after(t_del, 6.0, 1.2)
            events.append(("opened", t_seen))
            if rng.random() < min(0.95, click * eng):
                t_click = after(t_seen, 0.2)
                events.append(("clicked", t_click))
                if rng.random() < min(0.95, sample * eng * (0.5 + tech)):
                    events.append(("sample_requested", after(t_click, 48.0)))
        opened = channel == "visit" or len(events) > 1
        if opened and rng.random() < min(0.95, reply * eng):
            t_reply = after(t_seen, 1.0 if channel == "visit" else 24.0)
            events.append(("replied", t_reply))
            if rng.random() < min(0.95, meet * eng):
                events.append(("meeting_booked", after(t_reply, 24.0)))
            if channel == "visit" and rng.random() < min(0.95, sample * eng * (0.5 + tech)):
                events.append(("sample_requested", after(t_reply, 24.0)))
        if rng.random() < min(0.95, unsub * uns):
            events.append(("unsubscribed", after(t_del, 24.0, 1.5)))
        for event, t in events:
            if t >= end:
                continue
            row = {"response_id": f"R{sim._next('response'):09d}", "campaign_id": cid,
                   "account_id": acc, "event": event, "occurred_at": sim.cal.ts(t)}  # fmt: skip
            sim._emit(t, "marketing", "responses", row, c)

    # ------------------------------------------------------------------ truth
    def write_truth(self, truth: Path) -> None:
        """truth/campaigns.csv and truth/campaign_members.csv (see the module docstring)."""
        with open(truth / "campaigns.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["campaign_id", "starts_on", "goal", "channel", "offer", "n_treatment",
                        "n_holdout", "true_ate", "true_att"])  # fmt: skip
            w.writerows(self.campaigns)
        with open(truth / "campaign_members.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["campaign_id", "company_id", "account_id", "assignment", "kind",
                        "lam0", "lam1", "cancel", "p0", "p1", "tau"])  # fmt: skip
            w.writerows(self.members)
