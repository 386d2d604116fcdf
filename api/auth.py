"""Who is calling: the bearer JWT of API.md ("Authentication and roles") turned into an `Actor`.

Two modes, chosen once at startup and never mixed, so that a token can never choose how it is
verified:

- **JWKS** (production, any OIDC provider such as Keycloak), when `MOTCUA_JWT_JWKS_URL` is set:
  RS256 or ES256 only, against the provider's published keys; `MOTCUA_JWT_ISSUER` and
  `MOTCUA_JWT_AUDIENCE` are required and checked.
- **Shared secret** (development and tests), when only `MOTCUA_JWT_SECRET` is set: HS256 only;
  issuer and audience are checked when configured.

With neither, the API refuses to start: there is no mode that lets a caller in unverified. Each
mode accepts only its own algorithms, so `alg=none` and the "algorithm confusion" attack (an HS256
token whose HMAC key is the provider's public key) are refused before any key is looked at.

Failures are `AuthError`s, which are problem documents (`api.problems.Problem`): 401
`unauthenticated` with a `WWW-Authenticate: Bearer` challenge (RFC 6750), 503 `auth_unavailable`
when the provider's keys cannot be fetched (the caller's token may well be fine), and 403
`forbidden` from `require_roles`. Whether the caller's agency may touch a given dossier is for the
handlers and the domain to say, not this module.
"""

from __future__ import annotations

import asyncio
import http.client
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlparse

import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, ValidationError

from api.problems import Problem
from domain.commands import Actor, Role
from settings import Settings

log = structlog.get_logger()

# RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output, 256 bits.
MIN_SECRET_BYTES = 32
MIN_RSA_KEY_BITS = 2048
SECRET_ALGORITHMS = frozenset({"HS256"})
JWKS_ALGORITHMS = frozenset({"RS256", "ES256"})
REALM = "motcua"
# Tokens verified lately, kept so that a caller's next requests skip the signature and the
# claims (a fifth of a millisecond each, 7 times a dossier's lifecycle): at most this many, the
# oldest dropped first.
VERIFIED_TOKENS_MAX = 4096


class AuthSettings(Settings):
    """`Settings` plus the identity provider's settings, all optional, from `MOTCUA_*` variables.

    `jwt_secret` and `data_dir` come from `Settings`; an empty variable counts as unset.
    """

    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Clock skew tolerated between the provider and us for `exp`, `nbf` and `iat`.
    jwt_leeway_seconds: float = Field(default=30.0, ge=0)


class AuthConfigError(RuntimeError):
    """The authentication settings cannot work: the API must not start. The message says why."""


class AuthError(Problem):
    """Authentication or authorisation refused, as a problem document with a stable `code`.

    `code` is `unauthenticated` (401), `auth_unavailable` (503) or `forbidden` (403). A 401
    carries a `WWW-Authenticate: Bearer` challenge in `headers`, which the problem handler of
    `api.problems.install` sends with the answer. `detail_vi` is the message in Vietnamese.
    """

    def __init__(
        self,
        code: str,
        status: int,
        detail: str,
        *,
        detail_vi: str | None = None,
        challenge_error: str | None = None,
        **extensions: Any,
    ) -> None:
        headers = None
        if status == 401:
            challenge = f'Bearer realm="{REALM}"'
            if challenge_error:  # RFC 6750 §3.1: no error code when no credentials came at all
                description = detail.replace('"', "'").replace("\\", "/")
                challenge += f', error="{challenge_error}", error_description="{description}"'
            headers = {"WWW-Authenticate": challenge}
        if detail_vi is not None:
            extensions["detail_vi"] = detail_vi
        super().__init__(code, detail, status=status, headers=headers, **extensions)


def _refused(reason: str, en: str, vi: str) -> AuthError:
    """A 401 for a token (or header) that does not prove who the caller is."""
    log.info("authentication_refused", reason=reason)
    return AuthError(
        "unauthenticated",
        401,
        en,
        detail_vi=vi,
        challenge_error=None if reason in ("missing_header", "wrong_scheme") else "invalid_token",
    )


def _unavailable() -> AuthError:
    return AuthError(
        "auth_unavailable",
        503,
        "The identity provider's keys cannot be fetched; try again shortly.",
        detail_vi="Không lấy được khóa của hệ thống xác thực; vui lòng thử lại sau.",
    )


def _invalid_token() -> AuthError:
    return _refused("invalid", "The token is not valid.", "Mã truy cập không hợp lệ.")


class _KeySource(Protocol):
    """Where the verification key of a token comes from, and which algorithms it allows."""

    algorithms: frozenset[str]

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, str]:
        """The key that must have signed a token with this (unverified) header, and its one
        algorithm."""
        ...


class _SharedSecret:
    """HS256 with one secret, for development and tests."""

    algorithms = SECRET_ALGORITHMS

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        if len(self.secret) < MIN_SECRET_BYTES:
            raise AuthConfigError(
                f"MOTCUA_JWT_SECRET is {len(self.secret)} bytes long; HS256 needs at least "
                f"{MIN_SECRET_BYTES} (RFC 7518 §3.2). Make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, str]:
        return self.secret, "HS256"


def _usable_for_signatures(key: jwt.PyJWK) -> bool:
    """A published key we verify with: public, for signatures, with an id, of an allowed kind.

    The key's own algorithm (from its `alg`, else from its type and curve) must be RS256 on an RSA
    public key of 2048 bits or more, or ES256 on a P-256 public key: a symmetric (`oct`) or
    private key in the set, or a key of another algorithm, is skipped rather than trusted.
    """
    if not key.key_id or key.public_key_use not in (None, "sig"):
        return False
    if key.algorithm_name == "RS256":
        return isinstance(key.key, RSAPublicKey) and key.key.key_size >= MIN_RSA_KEY_BITS
    if key.algorithm_name == "ES256":
        return isinstance(key.key, EllipticCurvePublicKey) and isinstance(key.key.curve, SECP256R1)
    return False


class _JwksKeys:
    """The identity provider's signing keys, fetched from its JWKS URL and cached by `kid`.

    The set is refetched when it is older than `cache_seconds` (so a key the provider withdraws
    stops being accepted) and when a token names an unknown `kid` (so a rotation is picked up at
    once). Fetches are serialised, and none starts within `refetch_cooldown_seconds` of the last
    attempt: a flood of tokens with made-up `kid`s, or a provider that is down, costs one fetch
    per cooldown rather than one per request. If a refetch fails, keys already known keep
    working; a token whose key is not known then answers 503, not 401.
    """

    algorithms = JWKS_ALGORITHMS

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        refetch_cooldown_seconds: float,
        timeout_seconds: float,
    ) -> None:
        # PyJWKClient only fetches and parses here; caching and cooldown are ours (see above).
        self._client = jwt.PyJWKClient(
            url, cache_jwk_set=False, cache_keys=False, timeout=timeout_seconds
        )
        self._url = url
        self._cache_seconds = cache_seconds
        self._cooldown_seconds = refetch_cooldown_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._attempted_at: float | None = None  # ... of the last attempt, successful or not
        self._reachable = True  # whether the last attempt succeeded
        self._lock = asyncio.Lock()

    async def key_for(self, header: dict[str, Any]) -> tuple[Any, str]:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refused(
                "no_key_id", "The token does not name its key (kid).", "Mã truy cập thiếu mã khóa."
            )
        key = self._keys.get(kid)
        if key is None or not self._fresh():
            async with self._lock:
                key = await self._lookup(kid)
        if key.algorithm_name != header.get("alg"):
            raise _refused(
                "algorithm_mismatch",
                "The token's algorithm is not the one of its key.",
                "Thuật toán của mã truy cập không khớp với khóa.",
            )
        return key.key, key.algorithm_name

    async def _lookup(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None and self._fresh():
            return key  # another request refreshed the set while this one waited
        if self._attempted_at is None or time.monotonic() - self._attempted_at >= (
            self._cooldown_seconds
        ):
            await self._refresh()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._reachable:
            raise _unavailable()
        raise _refused(
            "unknown_key",
            "The token is signed with a key the identity provider does not publish.",
            "Mã truy cập được ký bằng khóa mà hệ thống xác thực không công bố.",
        )

    def _fresh(self) -> bool:
        return (
            self._fetched_at is not None
            and time.monotonic() - self._fetched_at < self._cache_seconds
        )

    async def _refresh(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            # urllib blocks: off the event loop.
            key_set = await asyncio.to_thread(self._client.get_jwk_set, True)
        except (jwt.PyJWTError, OSError, ValueError, http.client.HTTPException) as error:
            self._reachable = False
            log.warning("jwks_fetch_failed", url=self._url, error=str(error))
            return
        keys = {
            kid: key for key in key_set.keys if (kid := key.key_id) and _usable_for_signatures(key)
        }
        if not keys:
            self._reachable = False
            log.error("jwks_without_usable_keys", url=self._url, algorithms=sorted(self.algorithms))
            return
        self._keys = keys
        self._fetched_at = time.monotonic()
        self._reachable = True
        log.info("jwks_fetched", url=self._url, kids=sorted(keys))


@dataclass(frozen=True)
class _Verified:
    """A token that passed every check: its header, the key that verified it, its caller, and its
    time claims as PyJWT reads them (`int()` of each)."""

    header: dict[str, Any]
    key: Any
    actor: Actor
    issued_at: int | None
    not_before: int | None
    expires: int

    @classmethod
    def of(
        cls, header: dict[str, Any], key: Any, claims: dict[str, Any], actor: Actor
    ) -> _Verified:
        def at(claim: str) -> int | None:
            return int(claims[claim]) if claim in claims else None

        return cls(header, key, actor, at("iat"), at("nbf"), int(claims["exp"]))

    def in_time(self, now: float, leeway: float) -> bool:
        """Whether PyJWT would find the token in time at `now`, by its own comparisons: `iat`
        and `nbf` not beyond `now + leeway`, `exp` beyond `now - leeway`."""
        return (
            (self.issued_at is None or self.issued_at <= now + leeway)
            and (self.not_before is None or self.not_before <= now + leeway)
            and self.expires > now - leeway
        )


class Authenticator:
    """Verifies bearer tokens in one mode (JWKS or shared secret) and reads the caller's claims.

    Build it once at startup with `from_environment()` (or `from_settings`, `with_jwks`,
    `with_secret`), keep it on `app.state.authenticator`, and let `current_actor` use it.
    """

    def __init__(
        self,
        keys: _KeySource,
        *,
        issuer: str | None,
        audience: str | None,
        leeway_seconds: float,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._verified: dict[str, _Verified] = {}  # by token, oldest first

    @classmethod
    def from_environment(cls) -> Authenticator:
        """The authenticator the `MOTCUA_JWT_*` variables ask for: what the API builds at start."""
        return cls.from_settings(AuthSettings())

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Authenticator:
        """The authenticator `settings` ask for; `AuthConfigError` if they ask for none."""
        leeway = settings.jwt_leeway_seconds
        if settings.jwt_jwks_url:
            if not settings.jwt_issuer or not settings.jwt_audience:
                raise AuthConfigError(
                    "MOTCUA_JWT_JWKS_URL is set, so MOTCUA_JWT_ISSUER and MOTCUA_JWT_AUDIENCE "
                    "must be set too: a token from the same provider for another application "
                    "must not be accepted here."
                )
            if settings.jwt_secret:
                log.warning("jwt_secret_ignored", reason="MOTCUA_JWT_JWKS_URL is set")
            return cls.with_jwks(
                settings.jwt_jwks_url,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                leeway_seconds=leeway,
            )
        if settings.jwt_secret:
            return cls.with_secret(
                settings.jwt_secret,
                issuer=settings.jwt_issuer or None,
                audience=settings.jwt_audience or None,
                leeway_seconds=leeway,
            )
        raise AuthConfigError(
            "No way to verify tokens: set MOTCUA_JWT_JWKS_URL, MOTCUA_JWT_ISSUER and "
            "MOTCUA_JWT_AUDIENCE (production), or MOTCUA_JWT_SECRET (development; `make run` "
            "sets it from $MOTCUA_DATA_DIR/jwt-secret). The API does not run without one."
        )

    @classmethod
    def with_secret(
        cls,
        secret: str,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: float = 30.0,
    ) -> Authenticator:
        """HS256 tokens signed with `secret` (at least 32 bytes); issuer and audience if given."""
        return cls(
            _SharedSecret(secret), issuer=issuer, audience=audience, leeway_seconds=leeway_seconds
        )

    @classmethod
    def with_jwks(
        cls,
        jwks_url: str,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float = 30.0,
        cache_seconds: float = 300.0,
        refetch_cooldown_seconds: float = 10.0,
        timeout_seconds: float = 5.0,
    ) -> Authenticator:
        """RS256/ES256 tokens from `issuer` for `audience`, verified with the keys at `jwks_url`."""
        if urlparse(jwks_url).scheme not in ("http", "https"):
            raise AuthConfigError(f"MOTCUA_JWT_JWKS_URL must be an http(s) URL, not {jwks_url!r}")
        if not issuer or not audience:
            raise AuthConfigError("JWKS mode needs both an issuer and an audience")
        keys = _JwksKeys(
            jwks_url,
            cache_seconds=cache_seconds,
            refetch_cooldown_seconds=refetch_cooldown_seconds,
            timeout_seconds=timeout_seconds,
        )
        return cls(keys, issuer=issuer, audience=audience, leeway_seconds=leeway_seconds)

    def sign_for_development(self, claims: dict[str, Any]) -> str | None:
        """A token of these claims signed with the development secret, as the identity provider
        would sign it (issuer and audience included), for the pages' development sign-in; None
        in JWKS mode, where only the provider signs."""
        if not isinstance(self._keys, _SharedSecret):
            return None
        full = dict(claims)
        if self._issuer:
            full["iss"] = self._issuer
        if self._audience:
            full["aud"] = self._audience
        return jwt.encode(full, self._keys.secret, algorithm="HS256")

    @property
    def issuer(self) -> str | None:
        """The issuer whose tokens are accepted: the pages' OpenID provider (`web.pages.oidc`)."""
        return self._issuer

    @property
    def mode(self) -> Literal["jwks", "secret"]:
        return "jwks" if isinstance(self._keys, _JwksKeys) else "secret"

    async def authenticate(self, header: str | None) -> Actor:
        """The caller of an `Authorization` header value, or `AuthError` (401, or 503 when the
        provider's keys cannot be fetched).

        A token verified before answers the same without its signature and claims checked
        again, while its key is still the one its `kid` names (so a key the provider withdraws,
        or a refetched set, verifies it afresh) and its time claims still pass; anything else
        takes the whole way below, with its refusals and their log lines."""
        token = _bearer_token(header)
        if (verified := self._verified.get(token)) is not None:
            key, _ = await self._keys.key_for(verified.header)
            if key is verified.key and verified.in_time(time.time(), self._leeway):
                return verified.actor.model_copy(deep=True)  # never one object for two requests
            self._verified.pop(token, None)
        try:
            unverified = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused(
                "malformed",
                "The bearer token is not a well-formed JWT.",
                "Mã truy cập không đúng định dạng JWT.",
            ) from None
        if unverified.get("alg") not in self._keys.algorithms:
            raise _refused(
                "algorithm_not_accepted",
                f"Tokens must be signed with {' or '.join(sorted(self._keys.algorithms))}.",
                f"Mã truy cập phải được ký bằng {' hoặc '.join(sorted(self._keys.algorithms))}.",
            )
        key, algorithm = await self._keys.key_for(unverified)
        claims = self._verified_claims(token, key, algorithm)
        actor = _actor_of(claims)
        if len(self._verified) >= VERIFIED_TOKENS_MAX:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = _Verified.of(unverified, key, claims, actor.model_copy(deep=True))
        return actor

    def _verified_claims(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp"]},  # a token that never expires is not accepted
            )
        except jwt.ExpiredSignatureError:
            raise _refused("expired", "The token has expired.", "Mã truy cập đã hết hạn.") from None
        except jwt.ImmatureSignatureError:
            raise _refused(
                "not_yet_valid", "The token is not valid yet.", "Mã truy cập chưa có hiệu lực."
            ) from None
        except jwt.InvalidSignatureError:
            raise _refused(
                "bad_signature",
                "The token's signature is not valid.",
                "Chữ ký của mã truy cập không hợp lệ.",
            ) from None
        except jwt.InvalidIssuerError:
            raise _refused(
                "wrong_issuer",
                "The token was not issued by the expected issuer.",
                "Mã truy cập không do đơn vị cấp được chấp nhận phát hành.",
            ) from None
        except jwt.InvalidAudienceError:
            raise _refused(
                "wrong_audience",
                "The token is not meant for this service.",
                "Mã truy cập không dành cho hệ thống này.",
            ) from None
        except jwt.MissingRequiredClaimError as error:
            raise _missing_claim(error.claim) from None
        except jwt.PyJWTError:
            raise _invalid_token() from None
        for claim in _TIME_CLAIMS:
            # PyJWT reads "9999999999" and true as times; RFC 7519 §2 wants a JSON number.
            if claim in claims and not _is_numeric_date(claims[claim]):
                raise _refused(
                    "not_numeric_date",
                    f"The token's `{claim}` claim is not a NumericDate (a number of seconds).",
                    f"Thông tin `{claim}` của mã truy cập không phải là một mốc thời gian dạng số.",
                )
        return claims


_TIME_CLAIMS = ("exp", "nbf", "iat")


def _is_numeric_date(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bearer_token(header: str | None) -> str:
    """The token of `Bearer <token>`; the scheme is case-insensitive (RFC 7235 §2.1)."""
    if not header or not header.strip():
        raise _refused(
            "missing_header",
            "Authentication required: send `Authorization: Bearer <token>`.",
            "Cần xác thực: gửi kèm `Authorization: Bearer <token>`.",
        )
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise _refused(
            "wrong_scheme",
            "The Authorization header must be `Bearer <token>`.",
            "Tiêu đề Authorization phải có dạng `Bearer <token>`.",
        )
    return parts[1]


def _missing_claim(claim: str) -> AuthError:
    return _refused(
        "missing_claim",
        f"The token lacks the `{claim}` claim.",
        f"Mã truy cập thiếu thông tin `{claim}`.",
    )


_ROLES = {role.value: role for role in Role}


def _actor_of(claims: dict[str, Any]) -> Actor:
    """The caller of verified claims: `sub` and `agency` required, role names we do not know
    ignored (a provider may carry roles of other applications in the same claim)."""
    for claim in ("sub", "agency"):
        value = claims.get(claim)
        if value is None or value == "":
            raise _missing_claim(claim)
        if not isinstance(value, str) or not value.strip():
            raise _invalid_token()
    name = claims.get("name") or ""
    roles = claims.get("roles") or []
    if not isinstance(name, str) or not isinstance(roles, list):
        raise _invalid_token()
    known = [_ROLES[r] for r in roles if isinstance(r, str) and r in _ROLES]
    try:
        return Actor(
            user_id=claims["sub"],
            name=name,
            agency=claims["agency"],
            roles=list(dict.fromkeys(known)),
        )
    except ValidationError as beyond:  # a claim beyond the limits of `domain.limits`
        raise _invalid_token() from beyond


def require_roles(actor: Actor, *roles: Role) -> None:
    """Raises 403 `forbidden` unless the actor holds at least one of `roles`."""
    if not roles:
        raise TypeError("require_roles needs at least one role")
    if any(actor.has(role) for role in roles):
        return
    wanted = " or ".join(f"`{role.value}`" for role in roles)
    raise AuthError(
        "forbidden",
        403,
        f"This needs the role {wanted}.",
        detail_vi=f"Thao tác này cần vai trò {wanted}.",
        required_roles=[role.value for role in roles],
    )


# Refused attempts of callers with no part in what they asked for: kept here, apart from any
# dossier's audit trail, which only its parties' attempts may enter.
security_log = structlog.get_logger("motcua.security")


def refuse_stranger(request: Request, actor: Actor, **context: Any) -> AuthError:
    """403 `forbidden` for a caller whose agency has no part in what he asks for, told nothing
    more (not even whether a dossier is closed); the attempt goes to the security log: who,
    agency, route, code."""
    route = getattr(request.scope.get("route"), "path", request.url.path)
    security_log.warning(
        "security_refused",
        user=actor.user_id,
        agency=actor.agency,
        roles=[role.value for role in actor.roles],
        method=request.method,
        route=route,
        code="forbidden",
        **context,
    )
    return AuthError(
        "forbidden",
        403,
        "Your agency has no part in this dossier.",
        detail_vi="Cơ quan của bạn không liên quan đến hồ sơ này.",
    )


# Declared for the OpenAPI document (the "Authorize" button of /docs); the header itself is read
# by `current_actor`, which answers every failure with our problem document.
_bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="A JWT with the claims `sub`, `name`, `agency` and `roles` (API.md).",
)


async def current_actor(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Actor:
    """FastAPI dependency: the caller of this request, verified by `app.state.authenticator`."""
    authenticator = getattr(request.app.state, "authenticator", None)
    if not isinstance(authenticator, Authenticator):
        raise RuntimeError(
            "app.state.authenticator is not set: the app must set it at startup to "
            "Authenticator.from_environment()"
        )
    return await authenticator.authenticate(request.headers.get("Authorization"))


CurrentActor = Annotated[Actor, Depends(current_actor)]
"""A handler parameter annotated `actor: CurrentActor` receives the verified caller."""


async def admin_only(actor: CurrentActor) -> None:
    """Route dependency of the admins' routes: it runs before the body is validated, so a
    non-admin gets 403 whatever he sent (`api.invalid_requests` does the same for a body that
    is not even JSON)."""
    require_roles(actor, Role.ADMIN)
