"""Configuration from the environment (``PSASYNC_*``), validated once at start-up."""

from __future__ import annotations

from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./psasync.db"


class MarketplaceSettings(BaseModel):
    """One Cloud Marketplace (one region) resellers can log in to."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    url: AnyHttpUrl
    subscription_key: SecretStr = Field(alias="subscriptionKey")


class Settings(BaseSettings):
    """Everything psasync reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="PSASYNC_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: SecretStr | None = None
    marketplaces: list[MarketplaceSettings] = Field(default_factory=list)
    check_lookback_days: Annotated[int, Field(ge=1, le=3660)] = 31

    @model_validator(mode="after")
    def _marketplace_codes_are_unique(self) -> Settings:
        codes = [marketplace.code for marketplace in self.marketplaces]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"marketplace codes must be unique; repeated: {', '.join(repeated)}")
        return self

    def marketplace(self, code: str) -> MarketplaceSettings | None:
        """The configured marketplace with this code, if any."""
        return next((m for m in self.marketplaces if m.code == code), None)
