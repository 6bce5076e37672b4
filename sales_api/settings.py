"""Settings from SALES_* environment variables, read and validated when asked, never at import.

Every setting is a field below with its default and a description; the README's
configuration table is rendered from them (`python -m sales_api.settings`), and a test keeps
the two equal. A bad value stops the service with a message naming the variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from sales_api.domain.orders import HoldRules

ENV_PREFIX = "SALES_"
# "EdDSA" is deprecated by RFC 9864 in favour of "Ed25519"; it stays allowed if configured.
DEFAULT_ALGORITHMS = ("ES256", "ES384", "ES512", "Ed25519", "RS256", "RS384", "RS512", "PS256")
_ORIGIN = re.compile(r"https?://[^/\s]+")
_HTTP_URL = re.compile(r"https?://[^/\s?#]+\S*")
ASYMMETRIC_ALGORITHMS = frozenset({*DEFAULT_ALGORITHMS, "PS384", "PS512", "Ed448", "EdDSA"})
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
# SALES_* names that belong to the test suite and CI, not to the service.
NOT_SETTINGS_PREFIXES = ("SALES_TEST_", "SALES_CI_", "SALES_ARTIFACTS_DIR")


class Settings(BaseSettings):
    """Every setting of the service; `SALES_<NAME>` in the environment overrides the default."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "production"] = Field(
        default="development",
        description="`development` or `production`; `production` refuses the built-in issuer "
        "and turns GraphiQL and introspection off",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///./sales.db",
        description="the database: `sqlite+aiosqlite:///path/to/file.db` or "
        "`postgresql+asyncpg://user:password@host:5432/db`",
    )
    data_dir: Path = Field(
        default=Path(".sales"),
        description="where the built-in issuer keeps its signing key, and the outbox folder",
    )

    auth_issuer: str = Field(
        default="urn:sales-api:dev-issuer", min_length=1, description="expected `iss` of tokens"
    )
    auth_audience: str = Field(
        default="sales-api", min_length=1, description="expected `aud` of tokens"
    )
    auth_jwks_url: str | None = Field(
        default=None,
        json_schema_extra={"shown_default": "(the built-in issuer's keys)"},
        description="the identity provider's JWKS (`https://...`); required when the built-in "
        "issuer is off",
    )
    auth_organisation_claim: str = Field(
        default="https://entur.io/organisationID",
        min_length=1,
        description="the token claim holding the caller's organisation",
    )
    auth_algorithms: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_ALGORITHMS,
        description="token signature algorithms allowed (asymmetric only), comma-separated "
        "or a JSON list",
    )
    auth_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="clock leeway for `exp` and `nbf`"
    )
    auth_jwks_refetch_seconds: int = Field(
        default=60,
        ge=1,
        le=86_400,
        description="at most one JWKS re-fetch per this many seconds on an unknown `kid`",
    )
    auth_jwks_max_age_seconds: int = Field(
        default=600,
        ge=60,
        le=86_400,
        description="keys older than this are fetched again, so a key the issuer withdrew "
        "stops working (a failed fetch keeps the keys in hand)",
    )

    builtin_issuer: bool = Field(
        default=True,
        description="serve the development issuer: `POST /oauth/token` and "
        "`/.well-known/jwks.json`",
    )
    token_lifetime_seconds: int = Field(
        default=3600, ge=60, le=86_400, description="lifetime of the built-in issuer's tokens"
    )

    smtp_url: str | None = Field(
        default=None,
        description="send e-mail through SMTP, e.g. "
        "`smtp://user:pass@mail:587?starttls=true&from=sales@example.com`; `smtps://` for TLS",
    )
    outbox_folder: Path | None = Field(
        default=None,
        json_schema_extra={"shown_default": "`<data dir>/outbox`"},
        description="where messages are written as files when no SMTP URL is set",
    )
    seed_demo: bool = Field(
        default=True,
        description="seed the demo catalogue at `serve` (only when no catalogue is loaded)",
    )
    database_timeout_seconds: float = Field(
        default=10,
        ge=0.5,
        le=120,
        description="the longest a request waits on the database in all (PostgreSQL: a "
        "quarter for a pooled connection, a quarter to connect, half for a statement); past "
        "it the request is answered 503 SERVICE_UNAVAILABLE with Retry-After",
    )
    psp_timeout_seconds: float = Field(
        default=10,
        ge=0.1,
        le=120,
        description="the longest the payment provider may take to answer; past it the "
        "capture answers PAYMENT_PROVIDER_UNAVAILABLE and stays PENDING until settled",
    )
    psp_reconcile_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="how often PENDING transactions are settled by asking the payment "
        "provider what it did",
    )
    webhook_retry_seconds: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="the pause before a failed webhook delivery is tried again; doubled "
        "after each further failure, FAILED after 24 hours",
    )
    webhook_timeout_seconds: float = Field(
        default=5,
        ge=0.1,
        le=60,
        description="the longest one webhook attempt may take (connect, send, answer)",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="send webhooks to loopback, private and link-local addresses too; "
        "loopback is allowed anyway unless `production`",
    )
    max_subscriptions_per_connection: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="GraphQL subscriptions one WebSocket connection may hold at once",
    )
    http_header_timeout_seconds: float = Field(
        default=10,
        ge=0.5,
        le=300,
        description="a connection's request headers must be in this long after it opened "
        "or after its last response; else it is closed (idle and slow clients)",
    )
    http_body_timeout_seconds: float = Field(
        default=30,
        ge=0.5,
        le=600,
        description="a request's body must be in this long after its headers; else the "
        "connection is closed",
    )
    http_keep_alive_seconds: int = Field(
        default=5, ge=1, le=300, description="an idle keep-alive connection is closed after this"
    )
    http_max_connections: int = Field(
        default=1000,
        ge=10,
        le=100_000,
        description="open connections per process; beyond, the longest idle one is closed "
        "to make room, or the request answered 503 (never /health/live)",
    )
    shutdown_timeout_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="on SIGTERM, how long requests in flight may take to finish before "
        "they are cut off (the outbox message in hand is still finished)",
    )
    order_hold_seconds: int = Field(
        default=1200,
        ge=60,
        le=86_400,
        description="how long a DRAFT order holds its seats after each change or extendOrderExpiry",
    )
    order_max_hold_seconds: int = Field(
        default=3600,
        ge=60,
        le=7 * 86_400,
        description="the longest a DRAFT version holds its seats, counted from when it began "
        "(extendOrderExpiry stops there); at least the hold period",
    )
    expiry_sweep_seconds: float = Field(
        default=15, gt=0, le=3600, description="how often expired DRAFT orders are reset"
    )
    gc_freeze: bool = Field(
        default=True,
        description="after start-up, move what is loaded out of the garbage collector's sight "
        "(gc.freeze), so full collections walk only what requests make",
    )
    gc_thresholds: Annotated[tuple[int, int, int], NoDecode] = Field(
        default=(20_000, 20, 20),
        description="the garbage collector's generation thresholds (gc.set_threshold), "
        "comma-separated; Python's own are 700,10,10",
    )
    graphiql: bool | None = Field(
        default=None,
        json_schema_extra={"shown_default": "on unless `production`"},
        description="serve GraphiQL at the GraphQL address; `true` or `false` overrides",
    )
    introspection: bool | None = Field(
        default=None,
        json_schema_extra={"shown_default": "on unless `production`"},
        description="answer schema introspection queries; `true` or `false` overrides",
    )

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        json_schema_extra={"shown_default": "(none: no CORS headers)"},
        description="browser origins allowed to call the API, "
        "comma-separated or a JSON list, e.g. `https://shop.example,https://admin.example`",
    )

    max_query_depth: int = Field(
        default=12, ge=2, le=50, description="deepest nesting of fields a query may have"
    )
    max_aliases: int = Field(
        default=30, ge=1, le=1000, description="most aliases in one GraphQL document"
    )
    max_tokens: int = Field(
        default=3000, ge=100, le=100_000, description="most tokens in one GraphQL document"
    )
    max_query_cost: int = Field(
        default=50_000,
        ge=100,
        le=10_000_000,
        description="highest cost of an operation: every field 1, a list's selection times "
        "its size (`perPage`, else 10); see docs/limits.md",
    )
    tracing_otlp_endpoint: str | None = Field(
        default=None,
        description="OpenTelemetry: send traces by OTLP over HTTP to this URL (a collector's "
        "`/v1/traces`); a span per request, per batch read and per SQL statement. Unset: "
        "no tracing",
    )
    client_cost_budget: int = Field(
        default=0,
        ge=0,
        le=1_000_000_000,
        description="fair use: the query cost a client id may spend before it waits (HTTP 429 "
        "with Retry-After); 0 turns budgets off. Per process; see docs/limits.md",
    )
    client_cost_refill_per_second: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000_000,
        description="fair use: the cost given back to each client's budget every second",
    )
    max_mutations: int = Field(
        default=5, ge=1, le=100, description="most mutations in one operation"
    )
    persisted_queries: Literal["automatic", "registered"] = Field(
        default="automatic",
        description="Persisted queries (Apollo's protocol): `automatic` runs any document and "
        "learns hashes clients send; `registered` runs only the documents of "
        "SALES_PERSISTED_QUERIES_FILE.",
    )
    persisted_queries_file: Path | None = Field(
        default=None,
        description="A manifest of registered documents (Apollo's persisted query manifest "
        'JSON: {"operations": [{"id", "body", ...}]}).',
    )
    max_body_bytes: int = Field(
        default=65_536,
        ge=1024,
        le=10_485_760,
        description="largest GraphQL request body, in bytes; a bigger one is answered 413",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        from sqlalchemy.engine import make_url

        if not value.startswith(tuple(f"{driver}://" for driver in DATABASE_DRIVERS)):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        try:
            make_url(value)
        except ValueError as error:  # a port that is not a number, for one
            raise ValueError(f"not a database URL ({error})") from None
        return value

    @field_validator("auth_jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not _HTTP_URL.fullmatch(value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        """Read by the SMTP sender itself now, rather than at the first e-mail."""
        if value is not None:
            from sales_api.messaging.senders import SmtpSender

            SmtpSender(value)  # raises ValueError with what is wrong (never the password)
        return value

    @field_validator("cors_origins", "auth_algorithms", mode="before")
    @classmethod
    def _list_from_text(cls, value: Any) -> Any:
        """A list setting as a JSON list or comma-separated."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError(
                        "not a JSON list (or give the values comma-separated)"
                    ) from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        # Browsers send Origin as scheme://host[:port]; "https://shop.example/" would never
        # match and fail silently, so it is refused here instead.
        wrong = [origin for origin in value if origin != "*" and not _ORIGIN.fullmatch(origin)]
        if wrong:
            raise ValueError(f"origins are scheme://host[:port], no path or slash: {wrong}")
        return value

    @field_validator("gc_thresholds", mode="before")
    @classmethod
    def _three_numbers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(","))
        return value

    @field_validator("gc_thresholds")
    @classmethod
    def _positive_thresholds(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if not 100 <= value[0] <= 1_000_000 or not all(1 <= n <= 1000 for n in value[1:]):
            raise ValueError("the first threshold is 100 to 1000000, the others 1 to 1000")
        return value

    @field_validator("auth_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if unknown or not value:
            raise ValueError(f"only asymmetric algorithms are allowed, not {unknown}")
        return value

    @model_validator(mode="after")
    def _registered_documents(self) -> Settings:
        if self.persisted_queries == "registered" and self.persisted_queries_file is None:
            raise ValueError(
                "SALES_PERSISTED_QUERIES=registered needs SALES_PERSISTED_QUERIES_FILE"
            )
        return self

    @model_validator(mode="after")
    def _holds(self) -> Settings:
        if self.order_max_hold_seconds < self.order_hold_seconds:
            raise ValueError(
                "SALES_ORDER_MAX_HOLD_SECONDS must be at least SALES_ORDER_HOLD_SECONDS"
            )
        return self

    @property
    def holds(self) -> HoldRules:
        """The hold rules of DRAFT orders, from the two hold settings."""
        return HoldRules(
            timedelta(seconds=self.order_hold_seconds),
            timedelta(seconds=self.order_max_hold_seconds),
        )

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.production and self.builtin_issuer:
            raise ValueError(
                "SALES_BUILTIN_ISSUER: the built-in token issuer refuses to start when "
                "SALES_ENV=production; set SALES_BUILTIN_ISSUER=false and SALES_AUTH_JWKS_URL"
            )
        if not self.builtin_issuer and not self.auth_jwks_url:
            raise ValueError("SALES_AUTH_JWKS_URL is required when the built-in issuer is off")
        return self

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def webhook_allow_loopback(self) -> bool:
        return self.webhook_allow_private or not self.production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.production

    @property
    def outbox_dir(self) -> Path:
        """Where the default sender writes messages: SALES_OUTBOX_FOLDER or <data dir>/outbox."""
        return self.outbox_folder or self.data_dir / "outbox"

    @property
    def simulator_ledger_file(self) -> Path:
        """The simulated payment provider's books."""
        return self.data_dir / "simulated-psp.db"

    @property
    def issuer_key_file(self) -> Path:
        return self.data_dir / "issuer-key.json"


class ConfigurationError(Exception):
    """One or more SALES_* variables have bad values; the message names each of them."""


def variable(field_name: str) -> str:
    """The environment variable of a setting: `max_tokens` -> `SALES_MAX_TOKENS`."""
    return f"{ENV_PREFIX}{field_name.upper()}"


def settings_from_environment() -> Settings:
    """Settings from the environment, or ConfigurationError naming every bad variable (its
    value is never repeated: it may hold a password)."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigurationError(
            "; ".join(_problem(detail["loc"], detail["msg"]) for detail in error.errors())
        ) from None
    except SettingsError as error:  # a value pydantic-settings could not even decode
        found = re.search(r'field "(\w+)"', str(error))
        name = variable(found.group(1)) if found else "a SALES_* variable"
        raise ConfigurationError(f"{name}: cannot be read ({error})") from None


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    if not location:  # a rule across settings: its message names the variables
        return message
    return f"{variable(str(location[0]))}: {message}"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """SALES_* names in `environ` that are no setting (a typo is otherwise silently ignored)."""
    known = {variable(name) for name in Settings.model_fields}
    return sorted(
        name
        for name in environ
        if name.upper().startswith(ENV_PREFIX)
        and name.upper() not in known
        and not name.upper().startswith(NOT_SETTINGS_PREFIXES)
    )


# -- the README's configuration table ------------------------------------------------------


def markdown_table() -> str:
    """The configuration table of the README: every setting, its default and meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        bounds = _bounds(field)
        if bounds:
            meaning = f"{meaning}; {bounds}"
        rows.append(f"| `{variable(name)}` | {_shown_default(field)} | {meaning} |")
    return "\n".join(rows) + "\n"


def _shown_default(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("shown_default"), str):
        return str(extra["shown_default"])
    value = field.get_default(call_default_factory=True)
    if value is None or value == [] or value == ():
        return "(unset)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, tuple | list):
        return f"`{','.join(str(item) for item in value)}`"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    """The numeric range a setting allows, e.g. "from 2 to 50"."""
    limits = {
        kind: f"{getattr(rule, kind):,}"
        for rule in field.metadata
        for kind in ("ge", "gt", "le", "lt")
        if hasattr(rule, kind)
    }
    if "ge" in limits and "le" in limits:
        return f"from {limits['ge']} to {limits['le']}"
    words = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    return ", ".join(f"{words[kind]} {limit}" for kind, limit in limits.items())


if __name__ == "__main__":
    print(markdown_table(), end="")
