"""The ``notifications`` area: when budget and expiry warnings are raised."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, model_validator

from domain.areas.base import AreaModel


class NotificationsConfig(AreaModel):
    """Thresholds of budget and key-expiry notifications (singleton, key ``default``)."""

    area_name: ClassVar[str] = "notifications"
    singleton: ClassVar[bool] = True
    summary: ClassVar[str] = "Thresholds of budget and key-expiry warnings and errors"

    budget_warning_pct: int = Field(
        default=75, ge=1, le=100, description="Budget use (%) that raises a warning."
    )
    budget_error_pct: int = Field(
        default=90, ge=1, le=100, description="Budget use (%) that raises an error."
    )
    expiry_warning_days: int = Field(
        default=7, ge=0, description="Days before key expiry that raise a warning."
    )
    expiry_error_days: int = Field(
        default=1, ge=0, description="Days before key expiry that raise an error."
    )
    enabled: bool = Field(default=True, description="Whether notifications are sent.")

    @model_validator(mode="after")
    def _check_thresholds(self) -> Self:
        if self.budget_warning_pct >= self.budget_error_pct:
            raise ValueError(
                f"budget_warning_pct must be < budget_error_pct "
                f"(got {self.budget_warning_pct} >= {self.budget_error_pct})"
            )
        if self.expiry_warning_days <= self.expiry_error_days:
            raise ValueError(
                f"expiry_warning_days must be > expiry_error_days "
                f"(got {self.expiry_warning_days} <= {self.expiry_error_days})"
            )
        return self
