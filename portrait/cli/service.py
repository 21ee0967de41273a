"""`portrait serve`, `portrait user ...`, `portrait token ...`: the profile service, its people
and its systems' tokens (docs/service.md)."""

from __future__ import annotations

from pathlib import Path

import typer

users = typer.Typer(help="People who sign in to the profile panel.", no_args_is_help=True)
tokens = typer.Typer(help="API tokens for systems (CRM, marketing, service desk).",
                     no_args_is_help=True)  # fmt: skip


def serve(
    host: str = typer.Option(None, help="default PORTRAIT_BIND_HOST (127.0.0.1)"),
    port: int = typer.Option(None, help="default PORTRAIT_SERVICE_PORT (8000)"),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes"),
) -> None:
    """Serve the profile API (/api/v1, spec at /docs) and panel (/panel) with uvicorn, as the
    portrait_service warehouse login."""
    import uvicorn

    from portrait.settings import get_settings

    settings = get_settings()
    host = host or settings.bind_host
    port = port or settings.service_port
    typer.echo(f"profile service on http://{host}:{port}/panel  (API /api/v1, spec /docs)")
    uvicorn.run(
        "portrait.service.app:create_app", factory=True, host=host, port=port,
        workers=workers, log_level="info", proxy_headers=False,
    )  # fmt: skip


def _admin():
    import psycopg

    from portrait.settings import get_settings

    return psycopg.connect(get_settings().warehouse_dsn("admin"))


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        return password_file.read_text().strip()
    return typer.prompt("password (12 characters or more)", hide_input=True,
                        confirmation_prompt=True)  # fmt: skip


@users.command("create")
def user_create(
    username: str,
    role: str = typer.Option(..., help="sales | credit | service | analyst | admin"),
    owner_sales: str = typer.Option(None, help="a sales user's CRM owner (their accounts)"),
    display_name: str = typer.Option(None),
    password_file: Path = typer.Option(None, help="read the password from this file"),
) -> None:
    """Create (or reset) a person's sign-in; the password is asked for, never echoed."""
    from portrait.service import auth

    try:
        with _admin() as conn:
            auth.create_user(conn, username, role, _password(password_file),
                             display_name=display_name, owner_sales=owner_sales)  # fmt: skip
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    typer.echo(f"user {username}: role {role}")


@users.command("disable")
def user_disable(username: str) -> None:
    """Disable a person's sign-in and end their sessions."""
    from portrait.service import auth

    with _admin() as conn:
        found = auth.disable_user(conn, username)
    typer.echo(f"user {username}: {'disabled' if found else 'not found'}")
    if not found:
        raise typer.Exit(1)


@tokens.command("create")
def token_create(
    role: str = typer.Option(..., help="crm-sync | marketing | service-desk | a people's role"),
    name: str = typer.Option(None, help="what the token is for (default: the role)"),
    expires_days: int = typer.Option(None, min=1),
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from portrait.service import auth

    try:
        with _admin() as conn:
            token = auth.create_token(conn, name or role, role, expires_days=expires_days)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    typer.echo(token)


@tokens.command("list")
def token_list() -> None:
    """Tokens with their role and state (never the secret)."""
    from portrait.service import auth

    with _admin() as conn:
        for token_id, name, role, created, expires, revoked, used in auth.list_tokens(conn):
            state = "revoked" if revoked else "active"
            typer.echo(f"{token_id}  {role:<13} {state:<8} {name}  created {created:%Y-%m-%d}"
                       f"  expires {expires or '-'}  last used {used or '-'}")  # fmt: skip


@tokens.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token (its id, as `token list` shows, or the whole token)."""
    from portrait.service import auth

    with _admin() as conn:
        found = auth.revoke_token(conn, token_id)
    typer.echo(f"token {token_id}: {'revoked' if found else 'not found or already revoked'}")
    if not found:
        raise typer.Exit(1)
