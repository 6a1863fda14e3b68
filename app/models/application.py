"""Applications to join the exchange: a business, often from outside health,
offers a product that could serve health or care. The exchange team reviews
it; an accepted one becomes a supplier organisation, its first user and a
draft innovation record."""

import re
import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, field_validator
from pydantic.json_schema import JsonDict
from sqlalchemy import Column, ForeignKey, Index, String, Text
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from app.models.base import (
    JSONType,
    PublicRecord,
    Timestamp,
    UTCDateTime,
    Versioned,
    WebAddress,
    new_id,
    utcnow,
)
from app.models.vocabulary import CareSetting


class ApplicationStatus(StrEnum):
    submitted = "submitted"
    in_review = "in_review"
    more_information_needed = "more_information_needed"
    accepted = "accepted"
    declined = "declined"


class CompanySize(StrEnum):
    """The UK's company size bands, by employees."""

    micro = "micro"  # fewer than 10
    small = "small"  # 10 to 49
    medium = "medium"  # 50 to 249
    large = "large"  # 250 or more


class SupportWanted(StrEnum):
    clinical_introductions = "clinical_introductions"
    evidence_and_evaluation = "evidence_and_evaluation"
    regulation = "regulation"
    market_access = "market_access"
    funding = "funding"


# Eight characters: eight digits (England and Wales), or two letters and six
# digits (SC Scotland, NI Northern Ireland, OC partnerships and the rest).
COMPANIES_HOUSE_NUMBER = re.compile(r"^(?:\d{8}|[A-Z]{2}\d{6})$")
# A UK postcode: an outward code (area, district) and an inward code (sector, unit).
POSTCODE = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})$")


def normalise_postcode(value: str) -> str:
    """`l1  8jq` as `L1 8JQ`; a string that is no postcode is left for the pattern to refuse."""
    compact = re.sub(r"\s+", "", value).upper()
    match = POSTCODE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else value.strip().upper()


EXAMPLE: JsonDict = {
    "company_name": "Merseyside Thermal Engineering Ltd",
    "companies_house_number": "01234567",
    "address": "Unit 4, Brunswick Business Park, Liverpool",
    "postcode": "L3 4BJ",
    "website": "https://www.example.co.uk",
    "company_size": "small",
    "contact_name": "Sam Okafor",
    "contact_email": "sam@example.co.uk",
    "contact_role": "Managing director",
    "product_name": "Heat-based sharps destruction",
    "product_description": "Induction heating that melts metal parts in seconds.",
    "origin_sector": "Engineering",
    "current_users": "Precision engineering firms in the North West.",
    "health_problem": "Needlestick injuries when used sharps are carried to a bin.",
    "care_settings": ["acute_inpatient", "community"],
    "evidence": "ISO 9001; a pilot on two wards is planned.",
    "support_wanted": ["clinical_introductions", "regulation"],
    "consent_to_contact": True,
    "consent_to_data": True,
}


class ApplicationFields(SQLModel):
    """What the business tells us, in the order the form asks."""

    company_name: str = Field(min_length=1, max_length=200)
    companies_house_number: str | None = Field(default=None, max_length=8)
    address: str = Field(min_length=1, max_length=500, sa_type=Text)
    postcode: str = Field(min_length=5, max_length=8)
    company_size: CompanySize = Field(sa_type=String(20))
    contact_name: str = Field(min_length=1, max_length=200)
    contact_email: EmailStr = Field(max_length=254, sa_type=String(254))
    contact_role: str = Field(min_length=1, max_length=200)
    product_name: str = Field(min_length=1, max_length=200)
    # What it does today: it becomes the draft innovation's summary (1,000 at most).
    product_description: str = Field(min_length=1, max_length=1000, sa_type=Text)
    origin_sector: str = Field(min_length=1, max_length=100)
    current_users: str = Field(min_length=1, max_length=1000, sa_type=Text)
    health_problem: str = Field(min_length=1, max_length=2000, sa_type=Text)
    evidence: str = Field(default="", max_length=2000, sa_type=Text)


class Application(ApplicationFields, Versioned, table=True):
    __tablename__ = "applications"
    __table_args__ = (
        Index(None, "status", "id"),
        Index(None, "client_hash", "created_at"),
    )

    # What the applicant quotes to see their status: short, unambiguous, random.
    reference: str = Field(max_length=20, unique=True)
    website: str | None = Field(default=None, max_length=500)
    status: ApplicationStatus = Field(default=ApplicationStatus.submitted, sa_type=String(30))
    care_settings: list[str] = Field(default_factory=list, sa_type=JSONType)
    support_wanted: list[str] = Field(default_factory=list, sa_type=JSONType)
    consented_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Whether the postcode is in the programme's area, and the borough it is in.
    in_area: bool
    area_district: str | None = Field(default=None, max_length=100)
    # A keyed hash of the client's address: enough to rate-limit, nothing to identify.
    client_hash: str = Field(max_length=64)
    # The hidden honeypot field was filled in: most likely a robot. Kept, not
    # dropped, so a person whose browser filled it in loses nothing.
    suspected_spam: bool = Field(default=False)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What accepting it made.
    organisation_id: uuid.UUID | None = Field(default=None, foreign_key="organisations.id")
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    innovation_id: uuid.UUID | None = Field(default=None, foreign_key="innovations.id")


class ApplicationCreate(ApplicationFields):
    model_config = SQLModelConfig(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [EXAMPLE]}
    )

    website: WebAddress | None = None
    care_settings: list[CareSetting] = Field(default=[], max_length=len(CareSetting))
    support_wanted: list[SupportWanted] = Field(min_length=1, max_length=len(SupportWanted))
    consent_to_contact: bool
    consent_to_data: bool

    @field_validator("companies_house_number", mode="before")
    @classmethod
    def _companies_house_number(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        number = re.sub(r"\s+", "", value).upper()
        if not number:
            return None
        if not COMPANIES_HOUSE_NUMBER.match(number):
            raise ValueError("Enter a Companies House number of 8 characters, like 01234567 or SC123456")
        return number

    @field_validator("postcode", mode="before")
    @classmethod
    def _postcode(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return value
        postcode = normalise_postcode(value)
        if not POSTCODE.match(postcode):
            raise ValueError("Enter a real postcode, like L3 4BJ")
        return postcode

    @field_validator("consent_to_contact", "consent_to_data")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if not value:
            raise ValueError("We can only take an application you agree to")
        return value


class ApplicationPublic(ApplicationFields, PublicRecord):
    """An application as the exchange team sees it."""

    model_config = SQLModelConfig(json_schema_extra={"examples": [EXAMPLE]})

    reference: str
    website: str | None
    status: ApplicationStatus
    care_settings: list[CareSetting]
    support_wanted: list[SupportWanted]
    consented_at: Timestamp
    in_area: bool
    area_district: str | None
    suspected_spam: bool
    decided_at: Timestamp | None
    organisation_id: uuid.UUID | None
    user_id: uuid.UUID | None
    innovation_id: uuid.UUID | None


class Receipt(BaseModel):
    """What the applicant is told once the application is stored."""

    reference: str
    status: ApplicationStatus
    in_area: bool
    area_name: str
    next_steps: str


class StatusLookup(BaseModel):
    """The applicant's own question: their reference and the email they gave."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"reference": "HIE-4K7Q-9MXZ", "email": "sam@example.co.uk"}]},
    )

    reference: str = Field(min_length=1, max_length=20)
    email: EmailStr


class ApplicantReply(StatusLookup):
    """The applicant's answer to a request for more information."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reference": "HIE-4K7Q-9MXZ",
                    "email": "sam@example.co.uk",
                    "text": "The pilot ran on wards 3 and 4 at a hospital in Sefton.",
                }
            ]
        }
    )

    text: str = Field(min_length=1, max_length=5000)


class Message(BaseModel):
    at: Timestamp
    text: str
    # The applicant's own reply, rather than the team's words to them.
    from_applicant: bool = False


class ApplicationStatusPublic(BaseModel):
    """What the applicant may see of their application."""

    reference: str
    status: ApplicationStatus
    submitted_at: Timestamp
    updated_at: Timestamp
    # What the exchange team wrote to them (requests for information, decisions).
    messages: list[Message]


class NoteKind(StrEnum):
    note = "note"  # the team's own, never shown to the applicant
    request = "request"  # asks the applicant for more information
    reply = "reply"  # the applicant's answer
    decision = "decision"  # why it was accepted or declined


class ApplicationNote(SQLModel, table=True):
    """The review's trail: the team's notes, what was asked and answered, and
    the decision's reason. Written once, never changed."""

    __tablename__ = "application_notes"
    __table_args__ = (Index(None, "application_id", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    application_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("applications.id", ondelete="CASCADE"), nullable=False)
    )
    kind: NoteKind = Field(sa_type=String(20))
    author: str = Field(max_length=300)
    text: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NoteCreate(SQLModel):
    model_config = SQLModelConfig(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"text": "Spoke to them: a clinical lead at a trust is interested."}]
        },
    )

    text: str = Field(min_length=1, max_length=5000)


class NotePublic(SQLModel):
    id: uuid.UUID
    kind: NoteKind
    author: str
    text: str
    created_at: Timestamp


class Review(SQLModel):
    """A change of status by the exchange team; `message` goes to the
    applicant (required when asking for more information or declining)."""

    model_config = SQLModelConfig(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"status": "more_information_needed", "message": "Which wards used the pilot?"},
                {"status": "declined", "message": "It does not yet serve a need in health or care."},
            ]
        },
    )

    status: ApplicationStatus
    message: str = Field(default="", max_length=5000)


class Acceptance(SQLModel):
    """Accepting, with a message to the applicant."""

    model_config = SQLModelConfig(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"message": "Welcome to the exchange."}]},
    )

    message: str = Field(default="", max_length=5000)


class Accepted(BaseModel):
    """What accepting made, and the one-time link the first user sets their
    password with: shown only now, to be passed on to them."""

    application: ApplicationPublic
    organisation_id: uuid.UUID
    user_id: uuid.UUID
    innovation_id: uuid.UUID
    set_password_url: str
    set_password_expires_at: Timestamp
