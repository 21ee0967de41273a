"""`portrait audience list | define | materialise | export`: campaign audiences (issue 19,
marketing.audiences) without the API. activation's tables are created as their owner
(portrait_ml); audiences are read, materialised and exported as the profile service's login, the
one that reads the marts they filter (the API does the same)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs

import typer

app = typer.Typer(
    help="Campaign audiences 营销受众: saved filters, holdouts, exports.", no_args_is_help=True
)


@contextmanager
def _warehouse():
    import psycopg

    from marketing import audiences
    from portrait.settings import get_settings

    settings = get_settings()
    with psycopg.connect(settings.warehouse_dsn("ml")) as owner:
        audiences.ensure_tables(owner)
    with psycopg.connect(settings.warehouse_dsn("service")) as conn:
        yield conn


def _refused(err: Exception) -> typer.Exit:
    typer.echo(f"portrait audience: {err}", err=True)
    return typer.Exit(1)


@app.command("list")
def list_() -> None:
    """Audiences 受众 (latest version each), with their filter and holdout share."""
    from marketing import audiences

    with _warehouse() as conn:
        rows = audiences.list_audiences(conn)
    for a in rows:
        query = "&".join(f"{k}={v}" for k, v in a["filter"].items())
        typer.echo(f"{a['audience_id']:<28} v{a['version']:<3} holdout 对照组 "
                   f"{a['holdout_share']:.0%}  runs 批次 {a['runs']:<3} {a['name']}")  # fmt: skip
        typer.echo(f"{'':<33}{query}")


@app.command()
def define(
    audience_id: str,
    filter: str = typer.Option(
        ..., help="the panel URL's query: 'tag_all=rd_driven&churn_min=0.6' (docs/service.md)"
    ),
    name: str = typer.Option(None, help="default: the audience id"),
    holdout_share: float = typer.Option(0.2, min=0.0, max=0.99),
    description: str = typer.Option(None),
    by: str = typer.Option(None, help="who defines it (default: $USER)"),
) -> None:
    """Save an audience's filter and holdout share; a new version only when either changes."""
    import getpass

    from marketing import audiences
    from marketing.filters import BadParameter

    params = parse_qs(filter.lstrip("?"), keep_blank_values=False, strict_parsing=False)
    try:
        with _warehouse() as conn:
            version = audiences.define(conn, audience_id, name or audience_id, params,
                                       holdout_share, description,
                                       by=by or f"cli:{getpass.getuser()}")  # fmt: skip
    except (BadParameter, audiences.AudienceError) as err:
        raise _refused(err) from None
    typer.echo(f"audience 受众 {audience_id}: version 版本 {version}")


@app.command()
def materialise(
    audience_id: str,
    campaign_id: str = typer.Option(..., help="the campaign this run is for"),
    version: int = typer.Option(None, help="default: the latest"),
    seed: int = typer.Option(None, help="the holdout's seed (default: the campaign's, else 19)"),
) -> None:
    """Select the audience's customers now and assign treatment / holdout for the campaign."""
    from marketing import audiences

    try:
        with _warehouse() as conn:
            run = audiences.materialise(conn, audience_id, campaign_id, version=version, seed=seed)
    except audiences.AudienceError as err:
        raise _refused(err) from None
    typer.echo(
        f"run 批次 {run['run_id']}: eligible 符合 {run['eligible']}, treatment 触达 "
        f"{run['treatment']}, holdout 对照组 {run['holdout']} (as of {run['as_of']})"
    )


@app.command()
def export(
    run: str = typer.Argument(..., help="a run id, or a campaign id (its latest run)"),
    out: Path = typer.Option(None, "--out", "-o", help="CSV file (default: stdout)"),
    include_holdout: bool = typer.Option(False, help="add the held-out members, labelled so"),
) -> None:
    """The run's treated members as CSV for the CRM / mailing tool (UTF-8 with BOM in a file)."""
    from marketing import audiences

    try:
        with _warehouse() as conn:
            if out is None:
                written = audiences.export(conn, run, sys.stdout, include_holdout=include_holdout)
            else:
                with out.open("w", encoding="utf-8-sig", newline="") as fh:
                    written = audiences.export(conn, run, fh, include_holdout=include_holdout)
    except audiences.AudienceError as err:
        raise _refused(err) from None
    typer.echo(f"{written['rows']} row(s) 行 of run {written['run_id']}", err=True)


@app.command("report")
def report(
    out: Path = typer.Option(None, "--out", "-o", help="Folder; default reports/campaigns"),
) -> None:
    """The campaigns' A/B test pages 活动 A/B 测试报告 (index.html and one page per campaign)
    from the marketing marts, as an analyst's login would read them."""
    import psycopg

    from marketing.report import write_reports
    from portrait.settings import get_settings

    settings = get_settings()
    folder = out or settings.reports_dir / "campaigns"
    with psycopg.connect(settings.warehouse_dsn("service")) as conn:
        written = write_reports(conn, folder)
    typer.echo(f"{written['pages']} campaign pages 活动页面, verdicts 结论 {written['verdicts']}: "
               f"{written['index']}")  # fmt: skip
