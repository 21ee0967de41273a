"""`portrait ui up|down`: Airflow UI, MLflow UI and dbt docs on localhost."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The profile panel, Airflow UI, MLflow UI and dbt docs on localhost.", no_args_is_help=True
)


@app.command("up")
def up() -> None:
    """Start the profile service and the three UIs in the background and print their URLs, a
    demo sign-in per role and where each password is kept (files only you can read)."""
    from portrait.local import runner, ui
    from portrait.local.services import ensure_warehouse
    from portrait.settings import get_settings

    settings = get_settings()
    runner.apply_env(settings)
    ensure_warehouse(settings)
    runner.dbt_parse(settings)
    runner.airflow_migrate(settings)
    logins = demo_logins(settings)
    typer.echo(ui.up(settings))
    typer.echo("\n".join(logins))


def demo_logins(settings) -> list[str]:
    """A panel sign-in per people's role (demo_<role>, a generated password in a 0600 file);
    the sales user owns the accounts of the CRM's busiest owner."""
    import psycopg

    from portrait.local import ui
    from portrait.service import auth
    from portrait.service.roles import PEOPLE_ROLES

    lines = ["panel sign-ins (password files readable only by you):"]
    with psycopg.connect(settings.warehouse_dsn("admin")) as conn:
        owner = None
        if conn.execute("select to_regclass('marts.dim_customer')").fetchone()[0]:
            row = conn.execute(
                "select owner_sales from marts.dim_customer where owner_sales is not null"
                " group by 1 order by count(*) desc, 1 limit 1"
            ).fetchone()
            owner = row[0] if row else None
        for role in PEOPLE_ROLES:
            username = f"demo_{role}"
            if role == "sales" and owner is None:
                lines.append(f"  {username:<13} skipped: no CRM owner yet (run `make demo` first)")
                continue
            path = ui.demo_password(settings, username)
            auth.create_user(
                conn, username, role, path.read_text().strip(),
                display_name=f"Demo {role}", owner_sales=owner if role == "sales" else None,
            )  # fmt: skip
            owns = f"  (owns {owner}'s accounts)" if role == "sales" else ""
            lines.append(f"  {username:<13} role {role:<8} password in {path}{owns}")
    return lines


@app.command("down")
def down() -> None:
    """Stop the UIs."""
    from portrait.local import ui
    from portrait.settings import get_settings

    typer.echo(f"stopped: {', '.join(ui.down(get_settings())) or 'nothing running'}")
