"""A real OpenID provider for the pages' sign-in tests: `oidc-provider-mock` (Authlib's
authorization server on Flask) served on a free localhost port in a thread.

Its users are the development users of dev/users.toml, with their `name`, `agency` and `roles`
claims. Like Keycloak, it issues ACCESS tokens that are JWTs signed with its published key
(the mock's own are opaque strings): RS256, `kid`, issuer = the provider's address, audience
`AUDIENCE`, the user's claims; what the API's `Authenticator` verifies. Each authorization
request it receives is recorded, to see what the client asked for (PKCE)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import jwt
import pytest
import werkzeug.serving
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader
from oidc_provider_mock import User, init_app
from oidc_provider_mock._storage import storage

from dev.tokens import load_users

MOCK = "oidc_provider_mock"
AUDIENCE = "motcua-api"
CLIENT_ID = "motcua-pages"
CLIENT_SECRET = "pages-client-secret"
TOKEN_SECONDS = 600


@dataclass
class Provider:
    issuer: str
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def last_authorize_request(self) -> dict[str, str]:
        return self.authorize_requests[-1]


def users() -> list[User]:
    return [
        User(
            sub=user.id,
            claims={
                "name": user.name,
                "agency": user.agency,
                "roles": [role.value for role in user.roles],
            },
        )
        for user in load_users()
    ]


def _access_token(client: Any, grant_type: str, user: User, scope: str) -> str:
    """A JWT access token, as a production provider issues them, signed with the published key."""
    now = int(time.time())
    claims = {
        **user.claims,
        "sub": user.sub,
        "iss": flask.request.host_url.rstrip("/"),
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + TOKEN_SECONDS,
        "scope": scope,
    }
    key = storage.jwk
    return jwt.encode(
        claims, key.get_private_key(), algorithm="RS256", headers={"kid": key.as_dict()["kid"]}
    )


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    app = flask.Flask(__name__)
    # Our _base.html before the package's (which takes its stylesheet from a CDN).
    app.jinja_loader = ChoiceLoader(
        [FileSystemLoader(Path(__file__).parent / "oidc_templates"), PackageLoader(MOCK)]
    )
    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = _access_token
    app.secret_key = "oidc-provider-mock of the tests"
    init_app(app, user_claims=users(), require_nonce=True)
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    found = Provider(issuer=f"http://localhost:{server.server_port}")

    @app.before_request
    def record() -> None:
        if flask.request.path == "/oauth2/authorize" and flask.request.method == "GET":
            found.authorize_requests.append(dict(flask.request.args))

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
