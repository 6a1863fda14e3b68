"""The words of DOMAIN.md as enumerations: the API validates against them."""

from enum import StrEnum


class OrganisationKind(StrEnum):
    nhs_trust = "nhs_trust"
    icb = "icb"
    primary_care = "primary_care"
    social_care = "social_care"
    local_authority = "local_authority"
    health_innovation_network = "health_innovation_network"
    supplier = "supplier"
    academic = "academic"
    charity = "charity"
    other = "other"


class Region(StrEnum):
    north_east_and_yorkshire = "north_east_and_yorkshire"
    north_west = "north_west"
    midlands = "midlands"
    east_of_england = "east_of_england"
    london = "london"
    south_east = "south_east"
    south_west = "south_west"


class Role(StrEnum):
    admin = "admin"
    facilitator = "facilitator"
    member = "member"


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


class Category(StrEnum):
    medical_device = "medical_device"
    in_vitro_diagnostic = "in_vitro_diagnostic"
    pharmaceutical = "pharmaceutical"
    digital = "digital"
    ai = "ai"
    education = "education"
    ppe = "ppe"
    models_of_care = "models_of_care"
    estates_facilities = "estates_facilities"
    travel_transport = "travel_transport"
    food_nutrition = "food_nutrition"
    data_monitoring = "data_monitoring"
    other = "other"


class CareSetting(StrEnum):
    acute_inpatient = "acute_inpatient"
    acute_outpatient = "acute_outpatient"
    ambulance = "ambulance"
    care_home = "care_home"
    community = "community"
    end_of_life = "end_of_life"
    mental_health = "mental_health"
    pharmacy = "pharmacy"
    primary_care = "primary_care"
    social_care = "social_care"
    urgent_and_emergency = "urgent_and_emergency"
    industry = "industry"
    third_sector = "third_sector"
    other = "other"


class EvidenceType(StrEnum):
    clinical_or_care = "clinical_or_care"
    cost_impact_or_economic = "cost_impact_or_economic"
    other_effectiveness = "other_effectiveness"
    pre_clinical = "pre_clinical"
    real_world = "real_world"


class Maturity(StrEnum):
    discovery = "discovery"
    advanced = "advanced"
    ready = "ready"


class UkcaClass(StrEnum):
    not_applicable = "not_applicable"
    class_i = "class_i"
    class_iia = "class_iia"
    class_iib = "class_iib"
    class_iii = "class_iii"


class InnovationStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class ChallengeStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    awarded = "awarded"
    withdrawn = "withdrawn"


class ResponseStatus(StrEnum):
    submitted = "submitted"
    shortlisted = "shortlisted"
    selected = "selected"
    declined = "declined"
    withdrawn = "withdrawn"


class NotProgressedReason(StrEnum):
    insufficient_evidence = "insufficient_evidence"
    no_funding = "no_funding"
    no_capacity = "no_capacity"
    poor_local_fit = "poor_local_fit"
    supplier_not_ready = "supplier_not_ready"
    superseded = "superseded"
    other = "other"


# The stages off the line: they are rows of the stages table like the others,
# but the pipeline's rules name them.
PAUSED = "paused"
NOT_PROGRESSED = "not_progressed"
IDENTIFIED = "identified"
ADOPTED = "adopted"
ADOPTED_STAGES = ("adopted", "sustained")
