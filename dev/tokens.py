"""Bearer tokens for the development users of `dev/users.toml`, so that the API can be called
with curl right after `make run`:

    python -m dev.tokens                      # export TOKEN_SXD_OFFICER=… lines for everyone
    eval "$(python -m dev.tokens)"            # … or straight into the shell
    python -m dev.tokens --user sxd.officer   # just that token: TOKEN=$(python -m dev.tokens …)
    python -m dev.tokens --list               # who the users are
    python -m dev.tokens --hours 2            # shorter-lived tokens (default 12 hours)

The tokens are HS256, signed with `MOTCUA_JWT_SECRET` or, when it is unset, with the secret that
`make run` keeps in `$MOTCUA_DATA_DIR/jwt-secret` (`ensure_dev_secret`), which is the secret the
API of `make run` verifies with. They carry the issuer and audience if `MOTCUA_JWT_ISSUER` and
`MOTCUA_JWT_AUDIENCE` are set. Production never uses them: there, tokens come from the identity
provider and the API only accepts RS256/ES256 (`api.auth`).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import tempfile
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from pydantic import BaseModel, ConfigDict, Field

from api.auth import AuthSettings
from domain.commands import Role
from domain.localtime import VN

USERS_PATH = Path(__file__).with_name("users.toml")
SECRET_FILE_NAME = "jwt-secret"
DEFAULT_HOURS = 12.0


class DevUser(BaseModel):
    """A development user: the claims of its token (API.md, Authentication and roles)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    name: str
    agency: str = Field(min_length=1)
    roles: list[Role]

    @property
    def variable(self) -> str:
        """The shell variable its token is exported as: `sxd.officer` → `TOKEN_SXD_OFFICER`."""
        return "TOKEN_" + re.sub(r"[^A-Z0-9]", "_", self.id.upper())


class NoDevSecret(RuntimeError):
    """No secret to sign with; the message says how to get one."""


def load_users(path: Path = USERS_PATH) -> list[DevUser]:
    """The `[[user]]` entries of `path`, in file order; ValueError naming a bad or repeated one."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("user", [])
    users = [DevUser.model_validate(entry) for entry in entries]
    seen: dict[str, str] = {}  # variable -> id; the same id gives the same variable
    for user in users:
        if user.variable in seen:
            raise ValueError(
                f"{path}: users {seen[user.variable]!r} and {user.id!r} would both be "
                f"{user.variable}"
            )
        seen[user.variable] = user.id
    return users


def ensure_dev_secret(data_dir: Path) -> str:
    """The development secret in `data_dir/jwt-secret`, created (mode 0600) if missing.

    `make run` calls this when `MOTCUA_JWT_SECRET` is unset and gives the result to the API, so
    that tokens from this module keep working across restarts without anyone choosing a secret.
    Concurrent callers all get the one secret: the file appears complete or not at all.
    """
    path = data_dir / SECRET_FILE_NAME
    if path.exists():
        return _read_secret(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    descriptor, draft = tempfile.mkstemp(dir=data_dir, prefix=f".{SECRET_FILE_NAME}.")  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secret + "\n")
        try:
            os.link(draft, path)  # unlike a rename, never replaces a secret made meanwhile
        except FileExistsError:
            return _read_secret(path)
    finally:
        os.unlink(draft)
    return secret


def _read_secret(path: Path) -> str:
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise NoDevSecret(f"{path} is empty: delete it and `make run` makes a new one")
    return secret


def dev_secret(settings: AuthSettings) -> str:
    """`MOTCUA_JWT_SECRET`, else the secret file of `make run`; NoDevSecret if neither exists."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = settings.data_dir / SECRET_FILE_NAME
    if not path.exists():
        raise NoDevSecret(
            f"No secret to sign with: MOTCUA_JWT_SECRET is unset and {path} does not exist. "
            "Start the stack once with `make run` (it creates the file), or set "
            "MOTCUA_JWT_SECRET to the secret your API uses."
        )
    return _read_secret(path)


def mint_token(
    user: DevUser,
    secret: str,
    *,
    hours: float = DEFAULT_HOURS,
    issuer: str | None = None,
    audience: str | None = None,
    now: datetime | None = None,
) -> str:
    """An HS256 token for `user`, valid `hours` from `now`."""
    issued = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": user.id,
        "name": user.name,
        "agency": user.agency,
        "roles": [role.value for role in user.roles],
        "iat": issued,
        "exp": issued + timedelta(hours=hours),
    }
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def _positive_hours(text: str) -> float:
    hours = float(text)
    if not 0 < hours <= 24 * 366:
        raise argparse.ArgumentTypeError("hours must be more than 0 and at most a year")
    return hours


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (argparse exits 2 on a bad argument)."""
    parser = argparse.ArgumentParser(
        prog="python -m dev.tokens",
        description="Print bearer tokens of the development users (dev/users.toml) for the API.",
    )
    parser.add_argument(
        "--user", action="append", default=[], metavar="ID", help="only this user (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="print the users, not tokens")
    parser.add_argument(
        "--hours", type=_positive_hours, default=DEFAULT_HOURS, help="validity (default 12)"
    )
    args = parser.parse_args(argv)

    users = load_users()
    by_id = {user.id: user for user in users}
    unknown = [user_id for user_id in args.user if user_id not in by_id]
    if unknown:
        parser.error(f"unknown user {', '.join(unknown)}; known: {', '.join(by_id)}")
    chosen = [by_id[user_id] for user_id in dict.fromkeys(args.user)] or users

    if args.list:
        for user in chosen:
            roles = ",".join(role.value for role in user.roles)
            print(f"{user.id:<18} {user.agency:<8} {roles:<14} {user.name}")
        return 0

    settings = AuthSettings()
    try:
        secret = dev_secret(settings)
    except NoDevSecret as error:
        print(error, file=sys.stderr)
        return 1
    if settings.jwt_jwks_url:
        print(
            "warning: MOTCUA_JWT_JWKS_URL is set, so the API accepts only the identity "
            "provider's tokens, not these",
            file=sys.stderr,
        )
    now = datetime.now(UTC)
    tokens = {
        user.id: mint_token(
            user,
            secret,
            hours=args.hours,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            now=now,
        )
        for user in chosen
    }
    if len(args.user) == 1:
        print(tokens[chosen[0].id])
        return 0
    until = (now + timedelta(hours=args.hours)).astimezone(VN)
    print(f"# development tokens, valid until {until:%Y-%m-%d %H:%M} (UTC+7)")
    for user in chosen:
        print(f"export {user.variable}={tokens[user.id]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
