"""The words the pages show for the domain's codes, dates and amounts, as
Jinja filters: `{{ "medical_device" | words }}` is "Medical device"."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

WORDS = {
    # categories
    "medical_device": "Medical device",
    "in_vitro_diagnostic": "In vitro diagnostic",
    "pharmaceutical": "Pharmaceutical",
    "digital": "Digital",
    "ai": "Artificial intelligence (AI)",
    "education": "Education and training",
    "ppe": "Personal protective equipment (PPE)",
    "models_of_care": "Models of care",
    "estates_facilities": "Estates and facilities",
    "travel_transport": "Travel and transport",
    "food_nutrition": "Food and nutrition",
    "data_monitoring": "Data and monitoring",
    "other": "Other",
    # care settings
    "acute_inpatient": "Acute inpatient",
    "acute_outpatient": "Acute outpatient",
    "ambulance": "Ambulance",
    "care_home": "Care home",
    "community": "Community",
    "end_of_life": "End of life",
    "mental_health": "Mental health",
    "pharmacy": "Pharmacy",
    "primary_care": "Primary care",
    "social_care": "Social care",
    "urgent_and_emergency": "Urgent and emergency care",
    "industry": "Industry",
    "third_sector": "Third sector",
    # evidence types
    "clinical_or_care": "Clinical or care",
    "cost_impact_or_economic": "Cost impact or economic",
    "other_effectiveness": "Other effectiveness",
    "pre_clinical": "Pre-clinical",
    "real_world": "Real-world",
    # maturity
    "discovery": "Discovery",
    "advanced": "Advanced",
    "ready": "Ready for adoption",
    # UKCA/CE classes
    "not_applicable": "Not applicable",
    "class_i": "Class I",
    "class_iia": "Class IIa",
    "class_iib": "Class IIb",
    "class_iii": "Class III",
    # statuses
    "draft": "Draft",
    "published": "Published",
    "archived": "Archived",
    "open": "Open",
    "closed": "Closed",
    "awarded": "Awarded",
    "withdrawn": "Withdrawn",
    # regions
    "north_east_and_yorkshire": "North East and Yorkshire",
    "north_west": "North West",
    "midlands": "Midlands",
    "east_of_england": "East of England",
    "london": "London",
    "south_east": "South East",
    "south_west": "South West",
    "unknown": "Not known",
    # organisation kinds
    "nhs_trust": "NHS trust",
    "icb": "Integrated care board (ICB)",
    "local_authority": "Local authority",
    "health_innovation_network": "Health Innovation Network",
    "supplier": "Supplier",
    "academic": "Academic",
    "charity": "Charity",
}


def words(value: Any) -> str:
    """A code in words; a code it does not know, with its underscores as spaces."""
    if value is None:
        return ""
    text = str(getattr(value, "value", value))
    return WORDS.get(text) or text.replace("_", " ").capitalize()


def words_list(values: Iterable[Any] | None) -> str:
    return ", ".join(words(v) for v in values or ())


def long_date(value: date | datetime | None) -> str:
    """1 December 2026, as the NHS writes dates."""
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def pounds(value: int | None) -> str:
    return "" if value is None else f"£{value:,}"


def budget(record: Any) -> str:
    """A budget range in words: "£10,000 to £50,000", "Up to £50,000", "From £10,000"."""
    low, high = getattr(record, "budget_min", None), getattr(record, "budget_max", None)
    if low is not None and high is not None:
        return pounds(low) if low == high else f"{pounds(low)} to {pounds(high)}"
    if high is not None:
        return f"Up to {pounds(high)}"
    if low is not None:
        return f"From {pounds(low)}"
    return "Not given"


def paragraphs(text: str | None) -> list[str]:
    """Plain text split at blank lines, for <p> each (the template escapes them)."""
    return [part.strip() for part in (text or "").replace("\r\n", "\n").split("\n\n") if part.strip()]


FILTERS = {
    "words": words,
    "words_list": words_list,
    "long_date": long_date,
    "pounds": pounds,
    "budget": budget,
    "paragraphs": paragraphs,
}


def options(vocabulary: Iterable[Any]) -> list[dict[str, str]]:
    """An enumeration as the items of an NHS select, radios or checkboxes."""
    return [{"value": member.value, "text": words(member.value)} for member in vocabulary]
