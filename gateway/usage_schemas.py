"""Response bodies of the usage API: what a user's jobs took and cost over a period."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from common.cost_view import CostPublic, PricesPublic


class JobCounts(BaseModel):
    succeeded: int
    failed: int
    cancelled: int


class UsagePublic(BaseModel):
    user_id: str | None = Field(description="Whose usage; null for the totals of a page.")
    start: datetime = Field(description="The period's start (inclusive).")
    end: datetime = Field(description="The period's end (exclusive).")
    jobs: JobCounts = Field(description="Jobs that finished in the period, by outcome.")
    cost: CostPublic = Field(description="Their worker time, stored bytes and cost.")
    prices: PricesPublic = Field(description="The configured prices the cost is at.")


class UsagePage(BaseModel):
    start: datetime
    end: datetime
    totals: UsagePublic = Field(description="Every user's usage in the period, summed.")
    items: list[UsagePublic] = Field(description="One per user with finished jobs, by id.")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")
