"""Authentication of the HTTP API (API.md, "Authentication and roles"), with real cryptography.

Tokens are signed with a real secret and real RSA and EC P-256 keys. In JWKS mode the keys are
served over real HTTP by a server this module runs on a free localhost port, so caching, key
rotation and an unreachable identity provider happen as they do in production. Forged tokens
(`alg=none`, HS256 keyed with the public key) are built by hand, since PyJWT rightly refuses to
make them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from api import problems
from api.auth import (
    AuthConfigError,
    Authenticator,
    AuthError,
    AuthSettings,
    CurrentActor,
    require_roles,
)
from dev import tokens
from domain.commands import Actor, Role
from settings import REPO_ROOT
from sources.catalogue import load_catalogue

SECRET = "a-development-secret-of-at-least-32-bytes"
ISSUER = "https://sso.dongnai.gov.vn/realms/motcua"
AUDIENCE = "motcua-api"
AUTH_VARIABLES = (
    "MOTCUA_JWT_SECRET",
    "MOTCUA_JWT_JWKS_URL",
    "MOTCUA_JWT_ISSUER",
    "MOTCUA_JWT_AUDIENCE",
    "MOTCUA_JWT_LEEWAY_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No auth setting of the developer's shell, nor the secret of their `make run`, leaks in."""
    for name in AUTH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "var"))


# --- making tokens -------------------------------------------------------------------------------


def claims(**changes: Any) -> dict[str, Any]:
    """The claims of a valid token of the SXD officer; a change to None drops that claim."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "sxd.officer",
        "name": "Nguyễn Văn An",
        "agency": "SXD",
        "roles": ["officer"],
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    base.update(changes)
    return {claim: value for claim, value in base.items() if value is not None}


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(part: dict[str, Any]) -> str:
    """A header or payload as a JWS segment; times as NumericDate, like PyJWT writes them."""
    return _b64(json.dumps(part, default=lambda at: int(at.timestamp())).encode())


def forged(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """A compact JWS built by hand: HMAC-SHA256 with `hmac_key`, or no signature at all."""
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@dataclass(frozen=True)
class SigningKey:
    """A private key of the identity provider, its `kid`, and the algorithm it signs with."""

    kid: str
    algorithm: Literal["RS256", "ES256"]
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def jwk(self) -> dict[str, Any]:
        """The public half, as the provider publishes it in its JWKS."""
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            published = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            published = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**published, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, payload: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(
            payload, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid}
        )


def provider_claims(**changes: Any) -> dict[str, Any]:
    return claims(**{"iss": ISSUER, "aud": AUDIENCE, **changes})


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey("rsa-2026", "RS256", rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="module")
def rsa_key_next() -> SigningKey:
    return SigningKey("rsa-2027", "RS256", rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey("ec-2026", "ES256", ec.generate_private_key(ec.SECP256R1()))


# --- the identity provider's JWKS, over real HTTP ------------------------------------------------


class JwksServer:
    """Serves `keys` at `url` (/jwks.json on a free localhost port) and counts the fetches.

    `answer` makes it misbehave: "error" answers 500, "not_json" an HTML page; `stop()` closes
    the port, so a fetch meets a refused connection.
    """

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.answer: Literal["keys", "error", "not_json"] = "keys"
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks.json":
                    self.send_error(404)
                    return
                jwks.fetches += 1
                if jwks.answer == "error":
                    self.send_error(500)
                    return
                body = (
                    b"<html>maintenance</html>"
                    if jwks.answer == "not_json"
                    else json.dumps({"keys": jwks.keys}).encode()
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test output is for the tests."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()


@pytest.fixture
def jwks(rsa_key: SigningKey, ec_key: SigningKey) -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys = [rsa_key.jwk(), ec_key.jwk()]
    yield server
    server.stop()


def provider_authenticator(jwks: JwksServer, **options: float) -> Authenticator:
    return Authenticator.with_jwks(jwks.url, issuer=ISSUER, audience=AUDIENCE, **options)


@pytest.fixture
def secret_authenticator() -> Authenticator:
    return Authenticator.with_secret(SECRET)


async def refusal(authenticator: Authenticator, header: str | None) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await authenticator.authenticate(header)
    return caught.value


async def assert_unauthenticated(authenticator: Authenticator, header: str | None) -> AuthError:
    error = await refusal(authenticator, header)
    assert (error.code, error.status) == ("unauthenticated", 401), error.detail
    assert error.headers is not None
    assert error.headers["WWW-Authenticate"].startswith('Bearer realm="motcua"')
    assert error.extensions["detail_vi"]
    return error


# --- shared-secret mode (HS256) ------------------------------------------------------------------


async def test_hs256_token_gives_the_actor_of_its_claims(
    secret_authenticator: Authenticator,
) -> None:
    token = hs256(claims(roles=["officer", "head", "officer"]))

    actor = await secret_authenticator.authenticate(f"Bearer {token}")

    assert actor == Actor(
        user_id="sxd.officer",
        name="Nguyễn Văn An",
        agency="SXD",
        roles=[Role.OFFICER, Role.HEAD],
    )


async def test_bearer_scheme_is_case_insensitive(secret_authenticator: Authenticator) -> None:
    actor = await secret_authenticator.authenticate(f"bearer {hs256(claims())}")
    assert actor.user_id == "sxd.officer"


async def test_unknown_role_names_are_ignored(secret_authenticator: Authenticator) -> None:
    token = hs256(claims(roles=["offline_access", "officer", "uma_authorization", 7]))
    actor = await secret_authenticator.authenticate(f"Bearer {token}")
    assert actor.roles == [Role.OFFICER]


async def test_token_without_name_or_roles_is_an_actor_without_them(
    secret_authenticator: Authenticator,
) -> None:
    actor = await secret_authenticator.authenticate(
        f"Bearer {hs256(claims(name=None, roles=None))}"
    )
    assert (actor.name, actor.roles) == ("", [])


async def test_missing_header_is_unauthenticated_with_a_bare_bearer_challenge(
    secret_authenticator: Authenticator,
) -> None:
    for header in (None, "", "   "):
        error = await assert_unauthenticated(secret_authenticator, header)
        assert error.headers == {"WWW-Authenticate": 'Bearer realm="motcua"'}  # RFC 6750 §3.1


@pytest.mark.parametrize(
    "header",
    ["Basic c3hkLm9mZmljZXI6bWF0a2hhdQ==", "Bearer", "Token abc.def.ghi", "Bearer a.b.c extra"],
)
async def test_other_scheme_or_shape_is_unauthenticated(
    secret_authenticator: Authenticator, header: str
) -> None:
    await assert_unauthenticated(secret_authenticator, header)


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "e30.e30.e30", "ey.ey", "☃.☃.☃"])
async def test_malformed_token_is_unauthenticated(
    secret_authenticator: Authenticator, token: str
) -> None:
    error = await assert_unauthenticated(secret_authenticator, f"Bearer {token}")
    assert 'error="invalid_token"' in error.headers["WWW-Authenticate"]  # type: ignore[index]


async def test_expired_token_is_unauthenticated(secret_authenticator: Authenticator) -> None:
    now = datetime.now(UTC)
    token = hs256(claims(iat=now - timedelta(hours=13), exp=now - timedelta(hours=1)))

    error = await assert_unauthenticated(secret_authenticator, f"Bearer {token}")

    assert error.detail == "The token has expired."
    assert error.extensions["detail_vi"] == "Mã truy cập đã hết hạn."


async def test_expiry_tolerates_the_configured_clock_skew_only(
    secret_authenticator: Authenticator,
) -> None:
    now = datetime.now(UTC)
    just_expired = hs256(claims(exp=now - timedelta(seconds=10)))
    long_expired = hs256(claims(exp=now - timedelta(seconds=60)))

    assert await secret_authenticator.authenticate(f"Bearer {just_expired}")  # leeway 30 s
    await assert_unauthenticated(secret_authenticator, f"Bearer {long_expired}")


async def test_a_verified_token_is_not_verified_again_on_the_next_request(
    secret_authenticator: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    token = hs256(claims())

    first = await secret_authenticator.authenticate(f"Bearer {token}")
    again = await secret_authenticator.authenticate(f"bearer {token}")

    assert first == again
    assert first is not again  # a caller of its own for each request
    assert decoded == [token]


async def test_a_verified_token_is_refused_once_it_expires() -> None:
    """Kept verified, a token still expires when its `exp` says, refused as any expired one."""
    authenticator = Authenticator.with_secret(SECRET, leeway_seconds=0)
    expires = int(datetime.now(UTC).timestamp()) + 1
    token = hs256(claims(exp=expires))
    assert await authenticator.authenticate(f"Bearer {token}")

    await asyncio.sleep(expires - datetime.now(UTC).timestamp() + 0.05)

    error = await assert_unauthenticated(authenticator, f"Bearer {token}")
    assert error.detail == "The token has expired."


async def test_verified_tokens_kept_are_bounded_the_oldest_dropped_first(
    secret_authenticator: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("api.auth.VERIFIED_TOKENS_MAX", 2)
    tokens = [hs256(claims(sub=f"officer-{n}")) for n in range(3)]

    for token in tokens:
        await secret_authenticator.authenticate(f"Bearer {token}")

    assert list(secret_authenticator._verified) == tokens[1:]


async def test_token_that_never_expires_is_unauthenticated(
    secret_authenticator: Authenticator,
) -> None:
    error = await assert_unauthenticated(secret_authenticator, f"Bearer {hs256(claims(exp=None))}")
    assert "`exp`" in error.detail


@pytest.mark.parametrize(
    "times",
    [
        {"exp": "9999999999"},
        {"exp": "2099-01-01T00:00:00Z"},
        {"nbf": "0"},
        {"iat": True},
        {"nbf": False},
        {"iat": [0]},
    ],
    ids=["exp-string", "exp-iso-string", "nbf-string", "iat-true", "nbf-false", "iat-list"],
)
async def test_issue8_times_that_are_not_numeric_dates_are_unauthenticated(
    secret_authenticator: Authenticator, times: dict[str, Any]
) -> None:
    """RFC 7519 §2: `exp`, `nbf` and `iat` are JSON numbers; PyJWT alone takes "9999999999"
    for a time, and a token of ours would then never expire."""
    error = await assert_unauthenticated(secret_authenticator, f"Bearer {hs256(claims(**times))}")
    assert 'error="invalid_token"' in error.headers["WWW-Authenticate"]  # type: ignore[index]


async def test_numeric_dates_may_be_fractional(secret_authenticator: Authenticator) -> None:
    now = datetime.now(UTC).timestamp()
    token = hs256(claims(iat=now - 0.5, nbf=now - 0.5, exp=now + 3600.5))
    assert (await secret_authenticator.authenticate(f"Bearer {token}")).user_id == "sxd.officer"


async def test_token_not_valid_yet_is_unauthenticated(secret_authenticator: Authenticator) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    token = hs256(claims(nbf=later, exp=later + timedelta(hours=1)))
    await assert_unauthenticated(secret_authenticator, f"Bearer {token}")


async def test_token_signed_with_another_secret_is_unauthenticated(
    secret_authenticator: Authenticator,
) -> None:
    token = hs256(claims(), secret="another-secret-that-is-also-32-bytes-long")
    error = await assert_unauthenticated(secret_authenticator, f"Bearer {token}")
    assert error.detail == "The token's signature is not valid."


async def test_token_with_changed_claims_is_unauthenticated(
    secret_authenticator: Authenticator,
) -> None:
    """A caller who edits the payload (here: becomes head) breaks the signature."""
    header, _, signature = hs256(claims()).split(".")
    tampered = f"{header}.{_segment(claims(roles=['head']))}.{signature}"
    await assert_unauthenticated(secret_authenticator, f"Bearer {tampered}")


@pytest.mark.parametrize(
    ("dropped", "claim"), [({"sub": None}, "sub"), ({"agency": None}, "agency")]
)
async def test_token_without_sub_or_agency_is_unauthenticated(
    secret_authenticator: Authenticator, dropped: dict[str, Any], claim: str
) -> None:
    error = await assert_unauthenticated(secret_authenticator, f"Bearer {hs256(claims(**dropped))}")
    assert f"`{claim}`" in error.detail


@pytest.mark.parametrize(
    "changes",
    [{"sub": ""}, {"agency": "  "}, {"agency": ["SXD"]}, {"roles": "officer"}, {"name": 42}],
    ids=["empty-sub", "blank-agency", "agency-list", "roles-string", "name-number"],
)
async def test_token_with_claims_of_the_wrong_shape_is_unauthenticated(
    secret_authenticator: Authenticator, changes: dict[str, Any]
) -> None:
    await assert_unauthenticated(secret_authenticator, f"Bearer {hs256(claims(**changes))}")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_unsigned_alg_none_token_is_unauthenticated(
    secret_authenticator: Authenticator, alg: str
) -> None:
    token = forged({"alg": alg, "typ": "JWT"}, claims(), hmac_key=None)
    await assert_unauthenticated(secret_authenticator, f"Bearer {token}")


async def test_rs256_token_is_unauthenticated_in_secret_mode(
    secret_authenticator: Authenticator, rsa_key: SigningKey
) -> None:
    error = await assert_unauthenticated(
        secret_authenticator, f"Bearer {rsa_key.sign(provider_claims())}"
    )
    assert error.detail == "Tokens must be signed with HS256."


async def test_issuer_and_audience_checked_in_secret_mode_when_configured() -> None:
    authenticator = Authenticator.with_secret(SECRET, issuer=ISSUER, audience=AUDIENCE)

    assert await authenticator.authenticate(f"Bearer {hs256(provider_claims())}")
    for wrong in ({"iss": "https://elsewhere"}, {"aud": "other-app"}, {"iss": None}):
        await assert_unauthenticated(authenticator, f"Bearer {hs256(provider_claims(**wrong))}")


async def test_token_for_an_audience_is_refused_where_none_is_configured(
    secret_authenticator: Authenticator,
) -> None:
    """A token addressed to some audience is not for a service that does not know its own."""
    await assert_unauthenticated(secret_authenticator, f"Bearer {hs256(claims(aud='other-app'))}")


# --- JWKS mode (RS256 / ES256 from the identity provider) -------------------------------------


@pytest.mark.parametrize("key_name", ["rsa_key", "ec_key"])
async def test_provider_token_is_verified_against_the_jwks(
    jwks: JwksServer, key_name: str, request: pytest.FixtureRequest
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    authenticator = provider_authenticator(jwks)

    actor = await authenticator.authenticate(f"Bearer {key.sign(provider_claims())}")

    assert (actor.user_id, actor.agency, actor.roles) == ("sxd.officer", "SXD", [Role.OFFICER])
    assert authenticator.mode == "jwks"


async def test_jwks_is_fetched_once_for_many_tokens(
    jwks: JwksServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    authenticator = provider_authenticator(jwks)
    signed = [key.sign(provider_claims()) for key in (rsa_key, ec_key) for _ in range(5)]

    await asyncio.gather(*(authenticator.authenticate(f"Bearer {t}") for t in signed))
    await authenticator.authenticate(f"Bearer {signed[0]}")

    assert jwks.fetches == 1


async def test_audience_list_that_names_this_service_is_accepted(
    jwks: JwksServer, rsa_key: SigningKey
) -> None:
    """Keycloak sends `aud` as a list when a token serves several clients."""
    token = rsa_key.sign(provider_claims(aud=["account", AUDIENCE]))
    assert await provider_authenticator(jwks).authenticate(f"Bearer {token}")


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://sso.example.org/realms/motcua"},
        {"iss": None},
        {"aud": "account"},
        {"aud": None},
    ],
    ids=["other-issuer", "no-issuer", "other-audience", "no-audience"],
)
async def test_provider_token_with_wrong_issuer_or_audience_is_unauthenticated(
    jwks: JwksServer, rsa_key: SigningKey, changes: dict[str, Any]
) -> None:
    token = rsa_key.sign(provider_claims(**changes))
    await assert_unauthenticated(provider_authenticator(jwks), f"Bearer {token}")


async def test_expired_provider_token_is_unauthenticated(
    jwks: JwksServer, ec_key: SigningKey
) -> None:
    token = ec_key.sign(provider_claims(exp=datetime.now(UTC) - timedelta(minutes=5)))
    error = await assert_unauthenticated(provider_authenticator(jwks), f"Bearer {token}")
    assert error.detail == "The token has expired."


async def test_hs256_token_keyed_with_the_rsa_public_key_is_refused(
    jwks: JwksServer, rsa_key: SigningKey
) -> None:
    """Algorithm confusion: whoever knows the public key could otherwise sign as the provider."""
    authenticator = provider_authenticator(jwks)
    for key_bytes in (rsa_key.public_pem(), json.dumps(rsa_key.jwk()).encode()):
        token = forged(
            {"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid}, provider_claims(), key_bytes
        )
        error = await assert_unauthenticated(authenticator, f"Bearer {token}")
        assert error.detail == "Tokens must be signed with ES256 or RS256."


async def test_hs256_token_with_the_configured_secret_is_refused_in_jwks_mode(
    jwks: JwksServer,
) -> None:
    """With a JWKS URL the development secret, even if still set, proves nothing."""
    settings = AuthSettings(
        jwt_jwks_url=jwks.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_secret=SECRET
    )
    authenticator = Authenticator.from_settings(settings)

    assert authenticator.mode == "jwks"
    await assert_unauthenticated(authenticator, f"Bearer {hs256(provider_claims())}")


@pytest.mark.parametrize("alg", ["none", "RS256"])
async def test_unsigned_token_is_refused_in_jwks_mode(
    jwks: JwksServer, rsa_key: SigningKey, alg: str
) -> None:
    token = forged({"alg": alg, "kid": rsa_key.kid}, provider_claims(), hmac_key=None)
    await assert_unauthenticated(provider_authenticator(jwks), f"Bearer {token}")


async def test_token_whose_algorithm_is_not_its_keys_is_refused(
    jwks: JwksServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    """An ES256 signature presented under the RSA key's `kid` is not checked with that key."""
    token = ec_key.sign(provider_claims(), kid=rsa_key.kid)
    error = await assert_unauthenticated(provider_authenticator(jwks), f"Bearer {token}")
    assert error.detail == "The token's algorithm is not the one of its key."


async def test_symmetric_key_published_in_the_jwks_is_never_used(
    jwks: JwksServer, rsa_key: SigningKey
) -> None:
    leaked = b"a-symmetric-key-that-should-never-be-in-a-jwks"
    jwks.keys.append({"kty": "oct", "kid": "shared", "k": _b64(leaked)})
    authenticator = provider_authenticator(jwks)

    for alg in ("HS256", "RS256"):
        token = forged({"alg": alg, "kid": "shared"}, provider_claims(), leaked)
        await assert_unauthenticated(authenticator, f"Bearer {token}")
    assert await authenticator.authenticate(f"Bearer {rsa_key.sign(provider_claims())}")


async def test_token_without_kid_is_unauthenticated(jwks: JwksServer, rsa_key: SigningKey) -> None:
    token = jwt.encode(provider_claims(), rsa_key.private, algorithm="RS256")
    error = await assert_unauthenticated(provider_authenticator(jwks), f"Bearer {token}")
    assert "kid" in error.detail


async def test_rotated_key_is_picked_up_by_refetching_the_jwks(
    jwks: JwksServer, rsa_key: SigningKey, rsa_key_next: SigningKey
) -> None:
    authenticator = provider_authenticator(jwks, refetch_cooldown_seconds=0.2)
    assert await authenticator.authenticate(f"Bearer {rsa_key.sign(provider_claims())}")
    await asyncio.sleep(0.25)

    jwks.keys = [rsa_key_next.jwk()]  # the provider rotates and signs with the new key
    actor = await authenticator.authenticate(f"Bearer {rsa_key_next.sign(provider_claims())}")

    assert actor.user_id == "sxd.officer"
    assert jwks.fetches == 2


async def test_unknown_kids_cost_one_fetch_per_cooldown(
    jwks: JwksServer, rsa_key: SigningKey
) -> None:
    """Made-up `kid`s cannot make the API hammer the identity provider."""
    authenticator = provider_authenticator(jwks, refetch_cooldown_seconds=60)
    made_up = [rsa_key.sign(provider_claims(), kid=f"made-up-{n}") for n in range(20)]

    errors = await asyncio.gather(*(refusal(authenticator, f"Bearer {token}") for token in made_up))

    assert {(e.code, e.status) for e in errors} == {("unauthenticated", 401)}
    assert {e.detail for e in errors} == {
        "The token is signed with a key the identity provider does not publish."
    }
    assert jwks.fetches == 1


async def test_key_withdrawn_by_the_provider_is_refused_once_the_cache_expires(
    jwks: JwksServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    authenticator = provider_authenticator(jwks, cache_seconds=0.2, refetch_cooldown_seconds=0)
    token = rsa_key.sign(provider_claims())
    assert await authenticator.authenticate(f"Bearer {token}")

    jwks.keys = [ec_key.jwk()]
    await asyncio.sleep(0.25)

    await assert_unauthenticated(authenticator, f"Bearer {token}")


@pytest.mark.parametrize("outage", ["refused", "error", "not_json"])
async def test_unreachable_jwks_is_auth_unavailable_not_unauthenticated(
    jwks: JwksServer, rsa_key: SigningKey, outage: Literal["refused", "error", "not_json"]
) -> None:
    if outage == "refused":
        jwks.stop()
    else:
        jwks.answer = outage
    authenticator = provider_authenticator(jwks)

    error = await refusal(authenticator, f"Bearer {rsa_key.sign(provider_claims())}")

    assert (error.code, error.status, error.headers) == ("auth_unavailable", 503, None)
    assert error.extensions["detail_vi"]


async def test_jwks_without_usable_keys_is_auth_unavailable(
    jwks: JwksServer, rsa_key: SigningKey
) -> None:
    jwks.keys = [{"kty": "oct", "kid": "shared", "k": _b64(b"x" * 32)}]
    error = await refusal(provider_authenticator(jwks), f"Bearer {rsa_key.sign(provider_claims())}")
    assert error.code == "auth_unavailable"


async def test_known_keys_keep_working_while_the_jwks_is_down(
    jwks: JwksServer, rsa_key: SigningKey
) -> None:
    authenticator = provider_authenticator(jwks, cache_seconds=0.1, refetch_cooldown_seconds=0)
    token = rsa_key.sign(provider_claims())
    assert await authenticator.authenticate(f"Bearer {token}")

    jwks.stop()
    await asyncio.sleep(0.15)

    assert await authenticator.authenticate(f"Bearer {token}")
    error = await refusal(authenticator, f"Bearer {rsa_key.sign(provider_claims(), kid='new')}")
    assert error.code == "auth_unavailable"


async def test_jwks_recovery_is_noticed_after_the_cooldown(
    jwks: JwksServer, rsa_key: SigningKey
) -> None:
    authenticator = provider_authenticator(jwks, refetch_cooldown_seconds=0.2)
    token = rsa_key.sign(provider_claims())
    jwks.answer = "error"
    assert (await refusal(authenticator, f"Bearer {token}")).code == "auth_unavailable"

    jwks.answer = "keys"
    assert (await refusal(authenticator, f"Bearer {token}")).code == "auth_unavailable"
    await asyncio.sleep(0.25)

    assert await authenticator.authenticate(f"Bearer {token}")
    assert jwks.fetches == 2


# --- configuration: the API refuses to start rather than accept unverified callers ----------


def test_api_refuses_to_start_without_a_way_to_verify_tokens() -> None:
    with pytest.raises(AuthConfigError, match="MOTCUA_JWT_SECRET"):
        Authenticator.from_environment()


@pytest.mark.parametrize(
    "missing", [{"jwt_issuer": None}, {"jwt_audience": None}], ids=["no-issuer", "no-audience"]
)
def test_jwks_mode_refuses_to_start_without_issuer_and_audience(missing: dict[str, Any]) -> None:
    settings = {
        "jwt_jwks_url": "https://sso.dongnai.gov.vn/realms/motcua/protocol/openid-connect/certs",
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        **missing,
    }
    with pytest.raises(AuthConfigError, match="MOTCUA_JWT_ISSUER and MOTCUA_JWT_AUDIENCE"):
        Authenticator.from_settings(AuthSettings(**settings))


def test_jwks_url_must_be_http() -> None:
    with pytest.raises(AuthConfigError, match="http"):
        Authenticator.with_jwks("file:///etc/passwd", issuer=ISSUER, audience=AUDIENCE)


def test_secret_shorter_than_256_bits_refuses_to_start() -> None:
    with pytest.raises(AuthConfigError, match="at least 32"):
        Authenticator.from_settings(AuthSettings(jwt_secret="secret"))


async def test_mode_and_leeway_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_JWT_SECRET", SECRET)
    monkeypatch.setenv("MOTCUA_JWT_LEEWAY_SECONDS", "0")
    monkeypatch.setenv("MOTCUA_JWT_JWKS_URL", "")  # empty counts as unset
    authenticator = Authenticator.from_environment()

    assert authenticator.mode == "secret"
    just_expired = hs256(claims(exp=datetime.now(UTC) - timedelta(seconds=5)))
    await assert_unauthenticated(authenticator, f"Bearer {just_expired}")


# --- the FastAPI dependency and roles, over real HTTP ----------------------------------------


@pytest.fixture
async def api_url() -> AsyncIterator[str]:
    """A tiny app using `current_actor` and `require_roles`, served by uvicorn on a free port."""
    app = FastAPI()
    problems.install(app)
    app.state.authenticator = Authenticator.with_secret(SECRET)

    @app.get("/whoami")
    async def whoami(actor: CurrentActor) -> Actor:
        return actor

    @app.get("/oversight")
    async def oversight(actor: CurrentActor) -> dict[str, str]:
        require_roles(actor, Role.HOME_AFFAIRS, Role.INSPECTOR)
        return {"agency": actor.agency}

    # Listening before uvicorn starts: the first request waits in the backlog, no polling.
    listener = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    await serving


async def test_current_actor_gives_handlers_the_verified_caller(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        answer = await client.get("/whoami", headers={"Authorization": f"Bearer {hs256(claims())}"})

    assert answer.status_code == 200
    assert answer.json() == {
        "user_id": "sxd.officer",
        "name": "Nguyễn Văn An",
        "agency": "SXD",
        "roles": ["officer"],
    }


async def test_no_token_answers_a_401_problem_with_a_bearer_challenge(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        answer = await client.get("/whoami")

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == 'Bearer realm="motcua"'
    problem = answer.json()
    assert (problem["code"], problem["status"]) == ("unauthenticated", 401)
    assert problem["detail_vi"]


async def test_bad_token_answers_401_with_invalid_token_challenge(api_url: str) -> None:
    expired = hs256(claims(exp=datetime.now(UTC) - timedelta(hours=1)))
    async with httpx.AsyncClient(base_url=api_url) as client:
        answer = await client.get("/whoami", headers={"Authorization": f"Bearer {expired}"})

    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert answer.json()["detail"] == "The token has expired."


async def test_require_roles_answers_403_forbidden_without_one_of_the_roles(api_url: str) -> None:
    officer = hs256(claims())
    inspector = hs256(claims(sub="vpubnd.inspector", agency="VPUBND", roles=["inspector"]))
    async with httpx.AsyncClient(base_url=api_url) as client:
        refused = await client.get("/oversight", headers={"Authorization": f"Bearer {officer}"})
        allowed = await client.get("/oversight", headers={"Authorization": f"Bearer {inspector}"})

    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert refused.json()["required_roles"] == ["home_affairs", "inspector"]
    assert (allowed.status_code, allowed.json()) == (200, {"agency": "VPUBND"})


async def test_openapi_declares_the_bearer_scheme(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        document = (await client.get("/openapi.json")).json()

    assert document["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT with the claims `sub`, `name`, `agency` and `roles` (API.md).",
    }


# --- development tokens ------------------------------------------------------------------------


def test_dev_users_are_the_cast_of_letter_448_at_catalogue_agencies() -> None:
    users = {user.id: user for user in tokens.load_users()}
    agencies = {agency.code for agency in load_catalogue().agencies}

    assert {(u.id, u.agency, tuple(u.roles)) for u in users.values()} == {
        ("sxd.officer", "SXD", (Role.OFFICER,)),
        ("sxd.head", "SXD", (Role.HEAD,)),
        ("snnmt.officer", "SNNMT", (Role.OFFICER,)),
        ("cat.officer", "CAT", (Role.OFFICER,)),
        ("syt.officer", "SYT", (Role.OFFICER,)),
        ("stp.officer", "STP", (Role.OFFICER,)),
        ("stp.head", "STP", (Role.HEAD,)),
        ("snv.home_affairs", "SNV", (Role.HOME_AFFAIRS,)),
        ("vpubnd.inspector", "VPUBND", (Role.INSPECTOR,)),
        ("admin", "TTHCC", (Role.ADMIN,)),
        ("tthcc.officer", "TTHCC", (Role.OFFICER,)),  # the provincial one-stop desk
        # the merged province (issue 10): a ward's officer, an abolished district's
        ("tranbien.officer", "UBND-PHUONG-TRANBIEN", (Role.OFFICER,)),
        ("bienhoa.officer", "UBND-BIENHOA", (Role.OFFICER,)),
    }
    assert {u.agency for u in users.values()} <= agencies
    assert all(u.name.strip() for u in users.values())


def _exports(output: str) -> dict[str, str]:
    lines = [line for line in output.splitlines() if not line.startswith("#")]
    assert all(line.startswith("export TOKEN_") for line in lines), output
    return dict(line.removeprefix("export ").split("=", 1) for line in lines)


def test_dev_tokens_command_prints_exports_that_the_authenticator_verifies(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in AUTH_VARIABLES}
    finished = subprocess.run(
        [sys.executable, "-m", "dev.tokens"],
        cwd=REPO_ROOT,
        env={**environment, "MOTCUA_JWT_SECRET": SECRET},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    exported = _exports(finished.stdout)
    authenticator = Authenticator.with_secret(SECRET)

    for user in tokens.load_users():
        actor = asyncio.run(authenticator.authenticate(f"Bearer {exported[user.variable]}"))
        assert actor == Actor(user_id=user.id, name=user.name, agency=user.agency, roles=user.roles)
    assert len(exported) == len(tokens.load_users())


async def test_dev_tokens_for_one_user_prints_only_its_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOTCUA_JWT_SECRET", SECRET)

    assert tokens.main(["--user", "sxd.head"]) == 0

    token = capsys.readouterr().out.strip()
    assert "\n" not in token
    actor = await Authenticator.with_secret(SECRET).authenticate(f"Bearer {token}")
    assert (actor.user_id, actor.roles) == ("sxd.head", [Role.HEAD])


async def test_dev_tokens_for_several_users_print_their_exports(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOTCUA_JWT_SECRET", SECRET)

    assert tokens.main(["--user", "cat.officer", "--user", "snnmt.officer"]) == 0

    assert set(_exports(capsys.readouterr().out)) == {"TOKEN_CAT_OFFICER", "TOKEN_SNNMT_OFFICER"}


async def test_dev_tokens_sign_with_the_make_run_secret_file_when_no_secret_is_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tokens.ensure_dev_secret(tmp_path / "var")  # MOTCUA_DATA_DIR of the fixture

    assert tokens.main(["--user", "sxd.officer"]) == 0

    token = capsys.readouterr().out.strip()
    assert await Authenticator.with_secret(secret).authenticate(f"Bearer {token}")


def test_dev_tokens_without_any_secret_say_how_to_get_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tokens.main([]) == 1
    message = capsys.readouterr().err
    assert "make run" in message and "MOTCUA_JWT_SECRET" in message


def test_dev_tokens_refuse_an_unknown_user(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        tokens.main(["--user", "nobody"])
    assert exited.value.code == 2
    assert "sxd.officer" in capsys.readouterr().err


def test_dev_tokens_list_prints_every_user(capsys: pytest.CaptureFixture[str]) -> None:
    assert tokens.main(["--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [u.id for u in tokens.load_users()]
    assert "Nguyễn Văn An" in listed[0]


async def test_dev_tokens_expire_after_the_requested_hours(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOTCUA_JWT_SECRET", SECRET)
    assert tokens.main(["--user", "sxd.officer", "--hours", "2"]) == 0
    payload = jwt.decode(capsys.readouterr().out.strip(), SECRET, algorithms=["HS256"])
    assert payload["exp"] - payload["iat"] == 2 * 3600

    user = tokens.load_users()[0]
    yesterday = datetime.now(UTC) - timedelta(hours=tokens.DEFAULT_HOURS + 1)
    stale = tokens.mint_token(user, SECRET, now=yesterday)
    await assert_unauthenticated(Authenticator.with_secret(SECRET), f"Bearer {stale}")


async def test_dev_tokens_carry_the_configured_issuer_and_audience(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MOTCUA_JWT_SECRET", SECRET)
    monkeypatch.setenv("MOTCUA_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("MOTCUA_JWT_AUDIENCE", AUDIENCE)
    assert tokens.main(["--user", "stp.head"]) == 0

    token = capsys.readouterr().out.strip()
    authenticator = Authenticator.from_environment()
    assert (await authenticator.authenticate(f"Bearer {token}")).agency == "STP"


def test_ensure_dev_secret_creates_a_private_file_once_and_reuses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "not-yet" / "var"

    first = tokens.ensure_dev_secret(data_dir)
    secret_file = data_dir / "jwt-secret"
    mode = stat.S_IMODE(secret_file.stat().st_mode)
    written = secret_file.read_bytes()
    second = tokens.ensure_dev_secret(data_dir)

    assert mode == 0o600
    assert first == second
    assert len(first.encode()) >= 32
    assert secret_file.read_bytes() == written
    assert [p.name for p in data_dir.iterdir()] == ["jwt-secret"]  # no draft left behind
    assert Authenticator.with_secret(first).mode == "secret"


def test_ensure_dev_secret_gives_concurrent_callers_one_secret(tmp_path: Path) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def ensure() -> None:
        barrier.wait()
        results.append(tokens.ensure_dev_secret(tmp_path / "var"))

    threads = [threading.Thread(target=ensure) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8 and len(set(results)) == 1
