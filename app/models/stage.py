from typing import Any, Literal

from sqlalchemy import Column, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import JSONType


class Stage(SQLModel, table=True):
    """A step of the adoption pipeline. Stages are data, put in by a migration,
    so an exchange can rename them or add its own."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("position"),)

    key: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)
    position: int
    # False for `paused` and `not_progressed`: off the line.
    active: bool = True
    # A computed gate: at least `wait_days` since the adoption last entered
    # an adopted stage (its `adopted_at`), as `sustained` asks.
    wait_days: int | None = None


class GateItem(SQLModel, table=True):
    """What an adoption's gate record must show to enter a stage."""

    __tablename__ = "gate_items"
    __table_args__ = (UniqueConstraint("stage_key", "position"),)

    # Unique across stages: an adoption's `gate` holds every item's value by key.
    key: str = Field(primary_key=True, max_length=60)
    stage_key: str = Field(
        sa_column=Column(String(40), ForeignKey("stages.key", ondelete="CASCADE"), nullable=False)
    )
    position: int
    label: str = Field(max_length=200)
    hint: str | None = Field(default=None, max_length=500)
    kind: str = Field(max_length=10)  # text, bool or choice
    choices: list[str] | None = Field(default=None, sa_type=JSONType)
    # The value the gate asks for (`positive` for the evaluation outcome); for
    # a `bool` item it is true, for others any non-empty value will do.
    required_value: str | None = Field(default=None, max_length=60)


class GateItemPublic(SQLModel):
    key: str
    label: str
    hint: str | None
    kind: Literal["text", "bool", "choice"]
    choices: list[str] | None
    required_value: Any | None = None


class StagePublic(SQLModel):
    key: str
    name: str
    position: int
    active: bool
    wait_days: int | None
    gate_items: list[GateItemPublic]
