"""Settings from SALES_* environment variables, read and validated when asked, never at import."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# "EdDSA" is deprecated by RFC 9864 in favour of "Ed25519"; it stays allowed if configured.
DEFAULT_ALGORITHMS = ("ES256", "ES384", "ES512", "Ed25519", "RS256", "RS384", "RS512", "PS256")
_ORIGIN = re.compile(r"https?://[^/\s]+")
ASYMMETRIC_ALGORITHMS = frozenset({*DEFAULT_ALGORITHMS, "PS384", "PS512", "Ed448", "EdDSA"})


class Settings(BaseSettings):
    """Every setting of the service; `SALES_<NAME>` in the environment overrides the default."""

    model_config = SettingsConfigDict(env_prefix="SALES_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./sales.db"
    data_dir: Path = Path(".sales")

    auth_issuer: str = "urn:sales-api:dev-issuer"
    auth_audience: str = "sales-api"
    auth_jwks_url: str | None = None
    auth_organisation_claim: str = "https://entur.io/organisationID"
    auth_algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)
    auth_jwks_refetch_seconds: int = Field(default=60, ge=1, le=86_400)

    builtin_issuer: bool = True
    token_lifetime_seconds: int = Field(default=3600, ge=60, le=86_400)

    smtp_url: str | None = None
    outbox_folder: Path | None = None
    seed_demo: bool = True
    expiry_sweep_seconds: float = Field(default=15, gt=0, le=3600)
    graphiql: bool | None = None
    introspection: bool | None = None

    # Browser origins allowed to call the API, e.g. ["https://shop.example"]; none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    max_query_depth: int = Field(default=12, ge=2, le=50)
    max_aliases: int = Field(default=30, ge=1, le=1000)
    max_tokens: int = Field(default=3000, ge=100, le=100_000)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_from_text(cls, value: Any) -> Any:
        """SALES_CORS_ORIGINS as a JSON list or comma-separated."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
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

    @field_validator("auth_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if unknown or not value:
            raise ValueError(f"only asymmetric algorithms are allowed, not {unknown}")
        return value

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
    def issuer_key_file(self) -> Path:
        return self.data_dir / "issuer-key.json"
