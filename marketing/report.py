"""The A/B test report of the campaigns (issue 19): one HTML page per campaign and an index, from
``marts.mart_campaign_ab_tests``, ``mart_campaign_kpis`` and ``mart_campaign_funnel``.

Each page gives, per metric, the treated and held-out means, the effect with its 90 % interval
(plain and CUPED), the smallest effect the sample could detect with 80 % power, and the verdict
in Chinese and English, with the intervals drawn; then the funnel and the KPIs. The index lists
every campaign and, per lifecycle strategy, the pooled test. Self-contained pages (inline SVG,
no script, no external asset), so they open from a file or an MLflow artifact alike.
"""

from __future__ import annotations

import html
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from marketing.audiences import ensure_tables

METRIC_WORDS = {
    "conversion": ("转化率（窗口内下单）", "Conversion (ordered within the window)"),
    "revenue_90d": ("90 天人均收入（元）", "Revenue per member within 90 days (CNY)"),
    "retention_90d": (
        "90 天留存率（上一年有购买者）",
        "Retention within 90 days (last year's buyers)",
    ),
}
VERDICT_COLOURS = {
    "worked": "#1a7f37", "backfired": "#cf222e", "inconclusive": "#9a6700", "too_small": "#57606a",
}  # fmt: skip
KPI_ROWS = (
    ("delivery_rate", "送达率", "Delivery rate", "rate"),
    ("open_rate", "打开率", "Open rate", "rate"),
    ("click_through_rate", "点击率", "Click-through rate", "rate"),
    ("reply_rate", "回复率", "Reply rate", "rate"),
    ("sample_request_rate", "样品申请率", "Sample-request rate", "rate"),
    ("unsubscribe_rate", "退订率", "Unsubscribe rate", "rate"),
    ("conversion_rate_treatment", "实验组转化率", "Conversion, treated", "rate"),
    ("conversion_rate_holdout", "对照组转化率", "Conversion, holdout", "rate"),
    ("incremental_conversions", "增量转化数", "Incremental conversions", "number"),
    ("incremental_revenue_90d_cny", "增量 90 天收入（元）", "Incremental revenue, 90 days (CNY)",
     "number"),
    ("cost_cny", "成本（元）", "Cost (CNY)", "number"),
    ("cost_per_conversion_cny", "单次转化成本（元）", "Cost per conversion (CNY)", "number"),
    ("roi_90d", "投资回报率", "ROI (90 days)", "rate"),
)  # fmt: skip

STYLE = """
body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:2em;color:#1f2328}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px}
th{background:#f6f8fa;text-align:left}.num{text-align:right}.verdict{font-weight:bold}
.note{color:#57606a;font-size:90%}
"""


def _fmt(value, kind: str = "number") -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{100 * float(value):.1f}%"
    return f"{float(value):,.2f}"


def _effect(value, unit: str) -> str:
    if value is None:
        return "—"
    return f"{100 * value:+.2f} pp" if unit == "rate" else f"{value:+,.2f}"


def interval_svg(rows: list[dict], width: int = 520) -> str:
    """The effects and their 90 % intervals (plain thin, CUPED thick) on one axis per metric,
    with 0 marked: an inline SVG."""
    parts = []
    height = 34 * len(rows) + 10
    for i, r in enumerate(rows):
        ends = [v for v in (r["ci_low"], r["ci_high"], r["cuped_ci_low"], r["cuped_ci_high"], 0.0)
                if v is not None]  # fmt: skip
        lo, hi = min(ends), max(ends)
        span = (hi - lo) or 1.0
        lo, hi = lo - 0.1 * span, hi + 0.1 * span

        def x(v, lo=lo, hi=hi):
            return 150 + (width - 170) * (v - lo) / (hi - lo)

        y = 20 + 34 * i
        label = html.escape(r["metric"])
        parts.append(f'<text x="4" y="{y + 4}" font-size="12">{label}</text>')
        parts.append(f'<line x1="{x(0):.1f}" y1="{y - 12}" x2="{x(0):.1f}" y2="{y + 12}" '
                     'stroke="#8c959f" stroke-dasharray="3,3"/>')  # fmt: skip
        colour = VERDICT_COLOURS.get(r["verdict"], "#57606a")
        if r["ci_low"] is not None:
            parts.append(f'<line x1="{x(r["ci_low"]):.1f}" y1="{y - 5}" x2="{x(r["ci_high"]):.1f}"'
                         f' y2="{y - 5}" stroke="{colour}" stroke-width="1.5"/>')  # fmt: skip
        if r["cuped_ci_low"] is not None:
            parts.append(f'<line x1="{x(r["cuped_ci_low"]):.1f}" y1="{y + 4}" '
                         f'x2="{x(r["cuped_ci_high"]):.1f}" y2="{y + 4}" stroke="{colour}" '
                         'stroke-width="5"/>')  # fmt: skip
        if r["effect"] is not None:
            parts.append(
                f'<circle cx="{x(r["effect"]):.1f}" cy="{y - 5}" r="3.5" fill="{colour}"/>'
            )
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="effects and 90% intervals">'
            f'{"".join(parts)}</svg>')  # fmt: skip


def _tests_table(rows: list[dict]) -> str:
    head = ("<tr><th>指标 Metric</th><th>实验组 Treated</th><th>对照组 Holdout</th>"
            "<th>效应 Effect</th><th>90% 区间 interval</th><th>CUPED</th>"
            "<th>最小可检测效应 MDE (80% power)</th><th>结论 Verdict</th></tr>")  # fmt: skip
    body = []
    for r in rows:
        unit = r["metric_unit"]
        kind = "rate" if unit == "rate" else "number"
        cn, en = METRIC_WORDS.get(r["metric"], (r["metric"], r["metric"]))
        plain = f"{_effect(r['ci_low'], unit)} … {_effect(r['ci_high'], unit)}"
        cuped = (f"{_effect(r['cuped_effect'], unit)} ({_effect(r['cuped_ci_low'], unit)} … "
                 f"{_effect(r['cuped_ci_high'], unit)})")  # fmt: skip
        colour = VERDICT_COLOURS.get(r["verdict"], "#57606a")
        body.append(
            f"<tr><td>{html.escape(cn)}<br><span class=note>{html.escape(en)}</span></td>"
            f"<td class=num>{_fmt(r['mean_treatment'], kind)}<br>n={r['n_treatment']}</td>"
            f"<td class=num>{_fmt(r['mean_holdout'], kind)}<br>n={r['n_holdout']}</td>"
            f"<td class=num>{_effect(r['effect'], unit)}</td><td class=num>{plain}</td>"
            f"<td class=num>{cuped}</td>"
            f"<td class=num>{_effect(r['minimum_detectable_effect'], unit)}</td>"
            f"<td class=verdict style='color:{colour}'>{html.escape(r['verdict_cn'])}<br>"
            f"{html.escape(r['verdict_en'])}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>")  # fmt: skip


def _campaign_page(kpis: dict, tests: list[dict], funnel: list[dict]) -> str:
    cid = html.escape(kpis["campaign_id"])
    name = html.escape(kpis["campaign_name"] or "")
    facts = (f"<p>{html.escape(str(kpis['starts_on']))} · 目标 goal "
             f"{html.escape(str(kpis['campaign_goal']))} · "
             f"渠道 channel {html.escape(str(kpis['campaign_channel']))} · 优惠 offer "
             f"{html.escape(str(kpis['campaign_offer']))} · 内容 content "
             f"{html.escape(str(kpis['campaign_content']))} · 窗口 window "
             f"{kpis['response_window_days']} 天 days</p>")  # fmt: skip
    if tests:
        ab = (f"<h2>A/B 测试 test</h2>{_tests_table(tests)}{interval_svg(tests)}"
              "<p class=note>细线：普通 90% 区间；粗线：CUPED（以活动前 90 天行为校正）。"
              "Thin: the plain 90 % interval; thick: CUPED (adjusted by the 90 days "
              "before).</p>")  # fmt: skip
    else:
        ab = ("<h2>A/B 测试 test</h2><p>响应窗口尚未结束，暂不评估。"
              "The response window has not closed yet: no test.</p>")  # fmt: skip
    steps = "".join(
        f"<tr><td>{html.escape(s['step'])}</td><td class=num>{s['members']}</td>"
        f"<td class=num>{_fmt(s['rate_of_reached'], 'rate')}</td>"
        f"<td class=num>{_fmt(s['rate_of_previous_step'], 'rate')}</td></tr>"
        for s in funnel
    )
    funnel_html = ("<h2>漏斗 Funnel (treated)</h2><table><tr><th>步骤 Step</th>"
                   "<th>人数 Members</th><th>占触达 of reached</th>"
                   f"<th>上一步转化 of previous</th></tr>{steps}</table>")  # fmt: skip
    kpi_rows = "".join(
        f"<tr><td>{cn} {en}</td><td class=num>{_fmt(kpis[col], kind)}</td></tr>"
        for col, cn, en, kind in KPI_ROWS
    )
    kpi_html = f"<h2>指标 KPIs</h2><table>{kpi_rows}</table>"
    return _page(
        f"{kpis['campaign_id']} A/B", f"<h1>{cid} {name}</h1>{facts}{ab}{funnel_html}{kpi_html}"
    )


def write_reports(conn: psycopg.Connection, out_dir: Path) -> dict:
    """Write ``<campaign_id>.html`` for every campaign and ``index.html`` (campaigns and the
    pooled test of each strategy) into `out_dir`; returns the pages written and verdicts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cur = conn.cursor(row_factory=dict_row)
    kpis = cur.execute(
        "select * from marts.mart_campaign_kpis where breakdown = 'all' "
        "order by starts_on, campaign_id"
    ).fetchall()
    tests: dict[tuple[str, str], list[dict]] = {}
    for r in cur.execute(
        "select * from marts.mart_campaign_ab_tests order by scope, scope_id, metric"
    ).fetchall():
        tests.setdefault((r["scope"], r["scope_id"]), []).append(r)
    funnels: dict[str, list[dict]] = {}
    for r in cur.execute(
        "select * from marts.mart_campaign_funnel order by campaign_id, step_order"
    ):
        funnels.setdefault(r["campaign_id"], []).append(r)
    pages = []
    index_rows = []
    for k in kpis:
        cid = k["campaign_id"]
        page = out_dir / f"{cid}.html"
        page.write_text(
            _campaign_page(k, tests.get(("campaign", cid), []), funnels.get(cid, [])),
            encoding="utf-8",
        )
        pages.append(page)
        of_campaign = tests.get(("campaign", cid), [])
        conversion = next((t for t in of_campaign if t["metric"] == "conversion"), None)
        verdict = conversion["verdict_cn"] + " " + conversion["verdict_en"] if conversion else "—"
        index_rows.append(
            f"<tr><td><a href='{html.escape(page.name)}'>{html.escape(cid)}</a></td>"
            f"<td>{html.escape(k['campaign_name'] or '')}</td><td>{k['starts_on']}</td>"
            f"<td>{html.escape(str(k['campaign_goal']))}</td><td>{html.escape(str(k['campaign_channel']))}</td>"
            f"<td class=num>{k['members_treatment']}/{k['members_holdout']}</td>"
            f"<td>{html.escape(verdict)}</td></tr>"
        )
    strategies = [t for (scope, _), rows in tests.items() if scope == "goal" for t in rows]
    strategy_html = ""
    for goal in sorted({t["scope_id"] for t in strategies}):
        rows = [t for t in strategies if t["scope_id"] == goal]
        strategy_html += f"<h3>{html.escape(goal)}</h3>{_tests_table(rows)}{interval_svg(rows)}"
    index = _page(
        "Campaign A/B tests",
        "<h1>营销活动 A/B 测试 Campaign A/B tests</h1>"
        "<h2>生命周期策略 Lifecycle strategies (pooled)</h2>"
        + (strategy_html or "<p>—</p>")
        + "<h2>活动 Campaigns</h2><table><tr><th>活动 Campaign</th><th>名称 Name</th>"
        "<th>开始 Start</th><th>目标 Goal</th><th>渠道 Channel</th>"
        "<th>实验/对照 Treated/holdout</th>"
        f"<th>转化结论 Conversion verdict</th></tr>{''.join(index_rows)}</table>",
    )
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    verdicts = [t["verdict"] for (scope, _), rows in tests.items() if scope == "campaign"
                for t in rows if t["metric"] == "conversion"]  # fmt: skip
    return {
        "index": out_dir / "index.html",
        "pages": len(pages),
        "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))},
    }


# --- evaluation when a campaign's response window closes ------------------------------------

PENDING_SQL = """
select k.campaign_id
from marts.mart_campaign_kpis as k
where k.breakdown = 'all' and k.window_closed
  and not exists (
      select from activation.campaign_evaluations as e where e.campaign_id = k.campaign_id
  )
order by k.starts_on, k.campaign_id
"""


def closed_unevaluated(conn: psycopg.Connection) -> list[str]:
    """The campaigns whose response window has closed and that were not evaluated yet (none
    without a marketing export: the KPI mart is then empty)."""
    ensure_tables(conn)
    if conn.execute("select to_regclass('marts.mart_campaign_kpis')").fetchone()[0] is None:
        return []
    return [r[0] for r in conn.execute(PENDING_SQL).fetchall()]


def record_evaluations(conn: psycopg.Connection, campaign_ids: list[str], out_dir: Path) -> int:
    """Record the campaigns as evaluated with their conversion verdict and report page;
    re-recording one updates it (safe to re-run)."""
    ensure_tables(conn)
    rows = conn.execute(
        "select scope_id, verdict from marts.mart_campaign_ab_tests "
        "where scope = 'campaign' and metric = 'conversion' and scope_id = any(%s)",
        (list(campaign_ids),),
    ).fetchall()
    verdicts = dict(rows)
    with conn.cursor() as cur:
        cur.executemany(
            "insert into activation.campaign_evaluations (campaign_id, verdict, report) "
            "values (%s, %s, %s) on conflict (campaign_id) do update "
            "set evaluated_at = now(), verdict = excluded.verdict, report = excluded.report",
            [(c, verdicts.get(c), str(Path(out_dir) / f"{c}.html")) for c in campaign_ids],
        )
    return len(campaign_ids)
