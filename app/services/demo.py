"""The demonstration data behind `hie seed --demo`.

A small Liverpool City Region exchange: the exchange itself, the region's
Health Innovation Network (the Innovation Agency) and three others, Liverpool
trusts, the integrated care board, GP practices, a care home, the city
council, trusts in other regions, and the suppliers of NeedleSmart (a
repurposed engineering technology) and of innovations from the King's Fund's
case studies of spread (DOMAIN.md). Challenges are posted by the trusts, the
ICB and the council; adoptions stand at every stage of the pipeline, with
histories dated over the past two years, so that spread, adoptions per
quarter and days in each stage mean something. Suppliers have put their
innovations forward for the open challenges, and the responses stand at
every status of their workflow (one selected, linked to the adoption its
challenge owner had already opened).

Everything goes through the services, so every record writes its event. The
transitions carry the dates they are set at (`pipeline.move(..., now=...)`),
and the records' `created_at` is set back to match; the events themselves are
dated when the seed runs, as an audit trail should be.

Running it again changes nothing: every record has a stable `external_ref`,
owned by the exchange's organisation, and one that exists is left alone.

The trusts, the ICB, the networks and the suppliers are real organisations
(ODS codes where we are sure of them); their challenges and adoptions here
are illustrative, and the innovations' evidence summaries and regulatory
marks are plausible, not checked statements about the products. The GP
practices and the care home are illustrative, and every person and email
address is made up (`.example` addresses).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from app.auth import Principal
from app.config import get_settings
from app.models.adoption import Adoption, AdoptionCreate, AdoptionUpdate, Lead
from app.models.application import Application, ApplicationCreate, Review
from app.models.base import utcnow
from app.models.challenge import Challenge, ChallengeCreate
from app.models.innovation import Innovation, InnovationCreate
from app.models.organisation import Organisation, OrganisationCreate
from app.models.response import Response, ResponseCreate, ResponseUpdate
from app.models.user import User, UserCreate
from app.models.vocabulary import IDENTIFIED, NOT_PROGRESSED, PAUSED, Role, Scope
from app.services import (
    adoptions,
    applications,
    challenges,
    innovations,
    organisations,
    pipeline,
    responses,
    users,
)

# The password of every demo user (development only). Printed by `hie seed
# --demo` and `make run`; never use these accounts anywhere real.
DEMO_PASSWORD = "demo-password-1"
ACTOR_LABEL = "demo data"
EXCHANGE_NAME = "Health Innovation Exchange"
REF = "demo-{kind}-{key}"

# The default pipeline's active stages, in order (the migration's).
NEEDS_ASSESSMENT, CO_DESIGN, REAL_WORLD_TESTING = "needs_assessment", "co_design", "real_world_testing"
ADOPTED, SUSTAINED = "adopted", "sustained"
FORWARD = (NEEDS_ASSESSMENT, CO_DESIGN, REAL_WORLD_TESTING, ADOPTED, SUSTAINED)


# --- organisations ------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    key: str
    name: str
    kind: str
    region: str | None
    ods_code: str | None = None


EXCHANGE = Org("exchange", EXCHANGE_NAME, "other", "north_west")

ORGANISATIONS: tuple[Org, ...] = (
    EXCHANGE,
    # Health Innovation Networks (formerly AHSNs): the region's, and others.
    Org(
        "innovation-agency", "Innovation Agency (North West Coast)", "health_innovation_network", "north_west"
    ),
    Org("hin-south-london", "Health Innovation Network South London", "health_innovation_network", "london"),
    Org(
        "hin-west-of-england", "Health Innovation West of England", "health_innovation_network", "south_west"
    ),
    Org(
        "hin-yorkshire-humber",
        "Health Innovation Yorkshire & Humber",
        "health_innovation_network",
        "north_east_and_yorkshire",
    ),
    # Liverpool City Region: trusts, the ICB, primary and social care, the council.
    Org("rem", "Liverpool University Hospitals NHS Foundation Trust", "nhs_trust", "north_west", "REM"),
    Org("rbs", "Alder Hey Children's NHS Foundation Trust", "nhs_trust", "north_west", "RBS"),
    Org("rw4", "Mersey Care NHS Foundation Trust", "nhs_trust", "north_west", "RW4"),
    Org("rbq", "Liverpool Heart and Chest Hospital NHS Foundation Trust", "nhs_trust", "north_west", "RBQ"),
    Org("ret", "The Walton Centre NHS Foundation Trust", "nhs_trust", "north_west", "RET"),
    Org("rbn", "Mersey and West Lancashire Teaching Hospitals NHS Trust", "nhs_trust", "north_west", "RBN"),
    Org("qyg", "NHS Cheshire and Merseyside Integrated Care Board", "icb", "north_west", "QYG"),
    Org("gp-princes-park", "Princes Park Health Centre", "primary_care", "north_west"),
    Org("gp-old-swan", "Old Swan Health Centre", "primary_care", "north_west"),
    Org("gp-aintree-park", "Aintree Park Group Practice", "primary_care", "north_west"),
    Org("care-home-calderstones", "Calderstones Court Care Home", "social_care", "north_west"),
    Org("liverpool-city-council", "Liverpool City Council", "local_authority", "north_west"),
    Org("uni-liverpool", "University of Liverpool", "academic", "north_west"),
    # Elsewhere, so that spread shows regions.
    Org("r0a", "Manchester University NHS Foundation Trust", "nhs_trust", "north_west", "R0A"),
    Org("rj1", "Guy's and St Thomas' NHS Foundation Trust", "nhs_trust", "london", "RJ1"),
    Org("rr8", "Leeds Teaching Hospitals NHS Trust", "nhs_trust", "north_east_and_yorkshire", "RR8"),
    Org("rrk", "University Hospitals Birmingham NHS Foundation Trust", "nhs_trust", "midlands", "RRK"),
    Org("rgt", "Cambridge University Hospitals NHS Foundation Trust", "nhs_trust", "east_of_england", "RGT"),
    Org("rh8", "Royal Devon University Healthcare NHS Foundation Trust", "nhs_trust", "south_west", "RH8"),
    Org("ryr", "University Hospitals Sussex NHS Foundation Trust", "nhs_trust", "south_east", "RYR"),
    # Suppliers, and the NHS organisations and charities whose innovations spread.
    Org("needlesmart", "NeedleSmart", "supplier", "north_west"),
    Org("simple-telehealth", "Simple Telehealth", "supplier", "midlands"),
    Org("alivecor", "AliveCor", "supplier", None),
    Org("orthopaedic-research-uk", "Orthopaedic Research UK", "charity", "london"),
    Org("rvj", "North Bristol NHS Trust", "nhs_trust", "south_west", "RVJ"),
    Org("rx1", "Nottingham University Hospitals NHS Trust", "nhs_trust", "midlands", "RX1"),
)

# Days before the seed that organisations joined the exchange.
JOINED_DAYS_AGO = 900


# --- innovations ----------------------------------------------------------------


@dataclass(frozen=True)
class Inn:
    key: str
    supplier: str
    fields: dict[str, Any]
    # The text of each gate item an adoption of it fills in (bools are true,
    # the evaluation outcome positive, unless an adoption says otherwise).
    gate: dict[str, str]


INNOVATIONS: tuple[Inn, ...] = (
    Inn(
        "needlesmart",
        "needlesmart",
        {
            "name": "NeedleSmart: needle destruction at the point of care",
            "summary": (
                "A bedside unit that uses heat to destroy a used needle in seconds, so the sharp is "
                "gone before it leaves the patient's side."
            ),
            "description": (
                "NeedleSmart took heat-based processing from engineering and re-engineered it for "
                "wards, clinics and vaccination sites. After an injection the clinician places the "
                "needle in the unit, which heats it until the needle is destroyed and the remaining "
                "stub is sealed and blunt. It cuts the risk of needlestick injuries to staff and "
                "to the people who handle sharps waste, and the volume of sharps bins to collect "
                "and incinerate. Developed with support from the Liverpool City Region Health "
                "Innovation Exchange."
            ),
            "categories": ["medical_device", "ppe", "estates_facilities"],
            "care_settings": ["acute_inpatient", "acute_outpatient", "community", "care_home", "pharmacy"],
            "maturity": "advanced",
            "origin_sector": "engineering",
            "origin_use": "Heat treatment and processing of metal components.",
            "evidence": [
                {
                    "type": "pre_clinical",
                    "summary": "Laboratory testing of needle destruction across the common needle gauges.",
                },
                {
                    "type": "real_world",
                    "summary": (
                        "Ward evaluations in Liverpool: reported sharps injuries, sharps-bin "
                        "collections and staff acceptance before and after introduction."
                    ),
                },
            ],
            "regulatory": {"ukca_class": "class_i", "dtac": False, "dcb0129": False},
            "cost_summary": (
                "Per unit, bought or leased with annual servicing; one unit serves a ward or clinic."
            ),
            "status": "published",
        },
        {
            "needs_assessment_summary": (
                "Needlestick injuries are reported on medical and surgical wards every year, and sharps "
                "bins fill between collections. Destroying needles at the bedside removes the sharp "
                "at source."
            ),
            "funding_source": "Trust innovation fund, matched by the Health Innovation Exchange",
            "evaluation_plan": (
                "Six-month before-and-after comparison on two wards: reported sharps injuries, "
                "sharps-bin collections and a staff survey."
            ),
            "success_measures": (
                "Fewer needlestick injuries; fewer sharps bins collected; staff would recommend it."
            ),
            "local_tailoring": (
                "Units wall-mounted by the clean utility rooms; placement and training agreed with the "
                "ward managers and the infection prevention team."
            ),
            "procurement_route": "Direct award under the trust's innovation procurement policy",
        },
    ),
    Inn(
        "flo",
        "simple-telehealth",
        {
            "name": "Flo: simple telehealth by text message",
            "summary": (
                'Florence ("Flo") asks patients by text message for readings such as blood pressure, '
                "oxygen saturation or weight, and replies with the advice their clinician has set."
            ),
            "description": (
                "Flo was developed in the NHS in Stoke-on-Trent and works on any mobile phone, with "
                "no app to install. A clinician sets a protocol for each patient: which readings, how "
                "often, and what to say back. Readings outside the agreed range are flagged to the "
                "team. It is used for hypertension, COPD, heart failure, medication reminders and "
                "mental health support, and was one of the King's Fund's case studies of "
                "innovations that spread across the NHS."
            ),
            "categories": ["digital", "data_monitoring", "models_of_care"],
            "care_settings": ["primary_care", "community", "mental_health"],
            "maturity": "ready",
            "evidence": [
                {
                    "type": "real_world",
                    "summary": (
                        "Spread through the Academic Health Science Networks to GP practices and "
                        "community teams across England."
                    ),
                },
                {
                    "type": "other_effectiveness",
                    "summary": (
                        "Service evaluations report patients managing their own readings and fewer "
                        "routine face-to-face checks."
                    ),
                },
            ],
            "regulatory": {"ukca_class": None, "dtac": True, "dcb0129": True},
            "cost_summary": "Annual licence per organisation; text messages are free to the patient.",
            "status": "published",
        },
        {
            "needs_assessment_summary": (
                "Patients with hypertension and COPD need regular readings between appointments, and "
                "clinic capacity for routine checks is short."
            ),
            "funding_source": "Integrated care board transformation funding",
            "evaluation_plan": (
                "Twelve-month service evaluation of enrolled patients: readings sent, escalations, "
                "face-to-face contacts and patient feedback."
            ),
            "success_measures": (
                "Most enrolled patients send readings as agreed; fewer routine face-to-face checks; "
                "patients feel confident managing their condition."
            ),
            "local_tailoring": (
                "Protocols written with the practice nurses and community matrons; messages adapted "
                "for local services."
            ),
            "procurement_route": "Licence under the regional telehealth agreement",
        },
    ),
    Inn(
        "ed-checklist",
        "rvj",
        {
            "name": "Emergency department safety checklist",
            "summary": (
                "A time-based checklist for the first hours of an emergency department stay: triage, "
                "early observations, escalation and hourly safety checks, so nothing is missed when "
                "the department is crowded."
            ),
            "description": (
                "Written by emergency department clinicians and spread with the support of the "
                "region's Academic Health Science Network, the checklist turns the essential safety "
                "steps of the first hours into timed prompts that nurses and doctors complete and "
                "sign. It is one of the King's Fund's case studies of innovations that spread."
            ),
            "categories": ["models_of_care", "education"],
            "care_settings": ["urgent_and_emergency"],
            "maturity": "ready",
            "evidence": [
                {
                    "type": "clinical_or_care",
                    "summary": (
                        "Before-and-after evaluations found observations and early warning scores "
                        "recorded sooner and more completely."
                    ),
                },
            ],
            "regulatory": {"ukca_class": "not_applicable", "dtac": False, "dcb0129": False},
            "cost_summary": (
                "Free to use; the costs are training time and building it into the patient record."
            ),
            "status": "published",
        },
        {
            "needs_assessment_summary": (
                "When the department is crowded, first observations and escalations are sometimes "
                "late for patients waiting to be seen."
            ),
            "funding_source": "Trust quality improvement budget (staff time and record build)",
            "evaluation_plan": (
                "Audit of first observations within 15 minutes of arrival and of hourly safety checks, "
                "before and for three months after introduction."
            ),
            "success_measures": (
                "Timely first observations for nearly every patient; early warning scores escalated."
            ),
            "local_tailoring": (
                "Built into the department's electronic record and launched at the nursing huddles."
            ),
            "procurement_route": "No purchase: adopted as trust policy",
        },
    ),
    Inn(
        "escape-pain",
        "orthopaedic-research-uk",
        {
            "name": "ESCAPE-pain",
            "summary": (
                "A six-week group programme for people with chronic knee or hip pain: twelve "
                "sessions that combine education on self-management and coping with exercise that "
                "progresses for each person."
            ),
            "description": (
                "ESCAPE-pain (Enabling Self-management and Coping with Arthritic Pain using Exercise) "
                "was developed by physiotherapists and tested in a randomised controlled trial, then "
                "spread by the Health Innovation Network in South London and the AHSN Network. It "
                "runs in hospitals, community clinics and leisure centres, led by physiotherapists or "
                "trained exercise instructors. One of the King's Fund's case studies of spread."
            ),
            "categories": ["models_of_care", "education"],
            "care_settings": ["community", "acute_outpatient", "primary_care", "third_sector"],
            "maturity": "ready",
            "evidence": [
                {
                    "type": "clinical_or_care",
                    "summary": (
                        "Randomised controlled trial: less pain and better physical function than usual care."
                    ),
                },
                {
                    "type": "cost_impact_or_economic",
                    "summary": (
                        "Economic evaluation alongside the trial found it cost less than usual physiotherapy."
                    ),
                },
            ],
            "regulatory": {"ukca_class": "not_applicable", "dtac": False, "dcb0129": False},
            "cost_summary": (
                "Facilitator training per site; delivered in existing physiotherapy or leisure sessions."
            ),
            "website": "https://escape-pain.org",
            "status": "published",
        },
        {
            "needs_assessment_summary": (
                "Long waits for physiotherapy for knee and hip pain; people lose activity and "
                "independence while they wait."
            ),
            "funding_source": "Public health grant, with leisure centre space given in kind",
            "evaluation_plan": (
                "Pain and function scores of every participant at the start and end, completion rate, "
                "and activity at six months."
            ),
            "success_measures": "Most participants complete the programme; pain and function scores improve.",
            "local_tailoring": (
                "Classes in community leisure centres as well as clinics, led by physiotherapists and "
                "trained exercise instructors."
            ),
            "procurement_route": "Delivery commissioned through the existing physiotherapy contract",
        },
    ),
    Inn(
        "af-detection",
        "alivecor",
        {
            "name": "KardiaMobile: finding atrial fibrillation in GP practices",
            "summary": (
                "A single-lead ECG recorded in 30 seconds from a sensor paired with a smartphone, used "
                "at GP appointments, flu clinics and pharmacies to find atrial fibrillation before it "
                "causes a stroke."
            ),
            "description": (
                "Pulse checks miss atrial fibrillation that comes and goes. A healthcare assistant, "
                "nurse or pharmacist records a trace during a routine appointment; the app flags "
                "possible atrial fibrillation and a GP reviews the trace, so that patients can be "
                "offered anticoagulation. Atrial fibrillation detection in GP practices is one of the "
                "King's Fund's case studies of spread."
            ),
            "categories": ["medical_device", "digital", "ai"],
            "care_settings": ["primary_care", "pharmacy", "community"],
            "maturity": "ready",
            "evidence": [
                {
                    "type": "clinical_or_care",
                    "summary": (
                        "NICE diagnostics guidance DG35 recommends lead-I ECG devices, KardiaMobile "
                        "among them, for people in primary care with signs or symptoms of atrial "
                        "fibrillation and an irregular pulse."
                    ),
                    "url": "https://www.nice.org.uk/guidance/dg35",
                },
                {
                    "type": "real_world",
                    "summary": (
                        "Devices given to GP practices through the "
                        "AHSN Network's atrial fibrillation programme."
                    ),
                },
            ],
            "regulatory": {"ukca_class": "class_iia", "dtac": True, "dcb0129": False},
            "cost_summary": "A device per clinic room, with an app; no subscription needed for recording.",
            "website": "https://alivecor.com",
            "status": "published",
        },
        {
            "needs_assessment_summary": (
                "Many people with atrial fibrillation in the area are thought to be undiagnosed, and "
                "pulse checks miss atrial fibrillation that comes and goes."
            ),
            "funding_source": "Devices from the national AHSN programme; training funded by the ICB",
            "evaluation_plan": (
                "New atrial fibrillation diagnoses and anticoagulation starts in the practices using "
                "the devices, compared with the year before."
            ),
            "success_measures": (
                "More new diagnoses of atrial fibrillation; anticoagulation started where indicated."
            ),
            "local_tailoring": (
                "Devices at flu clinics and long-term condition reviews; healthcare assistants trained; "
                "trace review agreed with the practice GPs."
            ),
            "procurement_route": (
                "Devices supplied through the national programme; replacements on the ICB framework"
            ),
        },
    ),
    Inn(
        "liver-pathway",
        "rx1",
        {
            "name": "Scarred liver pathway: finding liver disease in primary care",
            "summary": (
                "Adults with risk factors for liver disease (hazardous drinking, type 2 diabetes, "
                "obesity) are offered a liver stiffness scan in the community, so that scarring is "
                "found before they present with cirrhosis."
            ),
            "description": (
                "Developed in Nottingham: GP practices identify people at risk from their records and "
                "refer them to a community clinic for transient elastography. People with raised "
                "liver stiffness are referred to hepatology; the rest get advice and a plan to "
                "reduce their risk. A liver disease pathway is one of the King's Fund's case studies "
                "of spread."
            ),
            "categories": ["models_of_care", "in_vitro_diagnostic", "medical_device"],
            "care_settings": ["primary_care", "community", "acute_outpatient"],
            "maturity": "ready",
            "evidence": [
                {
                    "type": "clinical_or_care",
                    "summary": (
                        "Evaluation found far more significant liver disease in people at risk than "
                        "the usual pathway did."
                    ),
                },
                {
                    "type": "cost_impact_or_economic",
                    "summary": (
                        "Modelled savings from fewer emergency admissions with decompensated liver disease."
                    ),
                },
            ],
            "regulatory": {"ukca_class": "not_applicable", "dtac": False, "dcb0129": False},
            "cost_summary": (
                "Scanner time and clinic sessions in the community; hepatology capacity for referrals."
            ),
            "status": "published",
        },
        {
            "needs_assessment_summary": (
                "Liver disease is often found late, at an emergency admission; primary care has no "
                "routine way to find liver scarring in people at risk."
            ),
            "funding_source": "ICB transformation funding for community liver clinics",
            "evaluation_plan": (
                "Number scanned, proportion with raised liver stiffness, referrals to hepatology and "
                "new diagnoses of cirrhosis."
            ),
            "success_measures": (
                "People with significant scarring found and referred; fewer first presentations in crisis."
            ),
            "local_tailoring": (
                "Community clinics in the areas of highest need, run with the local alcohol service."
            ),
            "procurement_route": (
                "Scanner through the trust's capital programme; pathway commissioned by the ICB"
            ),
        },
    ),
    Inn(
        "diabetes-book-learn",
        "hin-south-london",
        {
            "name": "Diabetes Book & Learn",
            "summary": (
                "One place to find and book diabetes structured education: people with type 2 "
                "diabetes choose a course, online or by phone, across the boroughs."
            ),
            "description": (
                "Few people referred to structured education ever attend. Book & Learn gathers the "
                "courses of several areas in one booking service, so people pick a time, place and "
                "language that suits them, and practices can book during a review. A diabetes "
                "innovation is one of the King's Fund's case studies of spread."
            ),
            "categories": ["digital", "education"],
            "care_settings": ["primary_care", "community"],
            "maturity": "ready",
            "evidence": [
                {
                    "type": "real_world",
                    "summary": (
                        "More referrals and attendances at structured education where it was introduced."
                    ),
                },
            ],
            "regulatory": {"ukca_class": "not_applicable", "dtac": True, "dcb0129": False},
            "cost_summary": "Annual service fee per area, scaled by population.",
            "status": "published",
        },
        {
            "needs_assessment_summary": (
                "Few people referred to diabetes structured education attend; booking is by letter and "
                "phone and the courses differ by area."
            ),
            "funding_source": "ICB diabetes programme funding",
            "evaluation_plan": (
                "Referral-to-attendance rates before and after, across the participating practices."
            ),
            "success_measures": (
                "Higher attendance at structured education; shorter wait from referral to course."
            ),
            "local_tailoring": (
                "Local courses and languages listed; practice staff shown how to book during reviews."
            ),
            "procurement_route": "Service agreement with the provider",
        },
    ),
)


# --- challenges -------------------------------------------------------------------


@dataclass(frozen=True)
class Chal:
    key: str
    owner: str
    opened_days_ago: int
    open_for_days: int
    fields: dict[str, Any]


CHALLENGES: tuple[Chal, ...] = (
    Chal(
        "needlestick",
        "rem",
        760,
        60,
        {
            "title": "Fewer needlestick injuries on inpatient wards",
            "problem_statement": (
                "Staff report needlestick injuries on our wards every month. Each one means an "
                "occupational health assessment, blood tests and months of worry, and sharps bins "
                "fill faster than they are collected."
            ),
            "care_settings": ["acute_inpatient"],
            "categories": ["medical_device", "ppe"],
            "desired_outcomes": "Fewer needlestick injuries; less sharps waste.",
            "success_measures": "Reported sharps injuries halved within a year on the wards that adopt it.",
            "budget_min": 20_000,
            "budget_max": 80_000,
            "status": "awarded",
        },
    ),
    Chal(
        "af-undiagnosed",
        "qyg",
        700,
        45,
        {
            "title": "Find undiagnosed atrial fibrillation before it causes a stroke",
            "problem_statement": (
                "Atrial fibrillation causes many strokes, and many people who have it do not know. "
                "We want practices to find it during appointments they already hold."
            ),
            "care_settings": ["primary_care", "pharmacy"],
            "categories": ["medical_device", "digital"],
            "desired_outcomes": "More people with atrial fibrillation diagnosed and treated.",
            "success_measures": (
                "Recorded prevalence of atrial fibrillation closer to the expected prevalence."
            ),
            "budget_min": 50_000,
            "budget_max": 150_000,
            "status": "awarded",
        },
    ),
    Chal(
        "joint-pain",
        "liverpool-city-council",
        740,
        30,
        {
            "title": "Keep older people with joint pain active and independent",
            "problem_statement": (
                "Knee and hip pain keeps older residents at home and away from the activities that "
                "keep them well. We want a programme in community venues, close to where they live."
            ),
            "care_settings": ["community", "third_sector"],
            "categories": ["models_of_care", "education"],
            "desired_outcomes": "More older residents active; less reliance on care services.",
            "success_measures": "Participants' function and activity improved six months on.",
            "budget_min": 10_000,
            "budget_max": 40_000,
            "status": "awarded",
        },
    ),
    Chal(
        "liver-early",
        "qyg",
        70,
        120,
        {
            "title": "Earlier diagnosis of liver disease in primary care",
            "problem_statement": (
                "Most people with cirrhosis in Cheshire and Merseyside are diagnosed at an emergency "
                "admission. We want a pathway that finds liver scarring in people at risk while it "
                "can still be treated."
            ),
            "care_settings": ["primary_care", "community"],
            "categories": ["models_of_care", "in_vitro_diagnostic"],
            "desired_outcomes": "Liver disease found earlier, in the community.",
            "success_measures": "Share of cirrhosis diagnoses first made outside an emergency admission.",
            "budget_min": 100_000,
            "budget_max": 300_000,
            "status": "open",
        },
    ),
    Chal(
        "children-ed-waits",
        "rbs",
        170,
        200,
        {
            "title": "Keep children safe while they wait in the emergency department",
            "problem_statement": (
                "At busy times children can wait hours to be seen. We need a reliable way to "
                "repeat observations and spot the child who is getting worse while they wait."
            ),
            "care_settings": ["urgent_and_emergency"],
            "categories": ["models_of_care", "digital"],
            "desired_outcomes": "Deterioration spotted and escalated while children wait.",
            "success_measures": "Repeat observations on time for nine in ten waiting children.",
            "budget_min": 5_000,
            "budget_max": 60_000,
            "status": "open",
        },
    ),
    Chal(
        "cardiac-remote",
        "rbq",
        40,
        90,
        {
            "title": "Remote monitoring after heart surgery",
            "problem_statement": (
                "Patients go home soon after heart surgery and some are readmitted with problems that "
                "could have been caught earlier. We want simple monitoring at home for the first weeks."
            ),
            "care_settings": ["community", "acute_outpatient"],
            "categories": ["digital", "data_monitoring"],
            "desired_outcomes": "Problems after discharge caught early, at home.",
            "success_measures": "Fewer emergency readmissions within 30 days of cardiac surgery.",
            "budget_min": 30_000,
            "budget_max": 120_000,
            "status": "open",
        },
    ),
    Chal(
        "neuro-follow-up",
        "ret",
        25,
        75,
        {
            "title": "Fewer routine neurology follow-ups that patients do not need",
            "problem_statement": (
                "Many routine follow-up appointments for people with epilepsy find nothing has "
                "changed. We want patients to report how they are between appointments, and to be "
                "seen when they need it."
            ),
            "care_settings": ["acute_outpatient", "community"],
            "categories": ["digital", "data_monitoring"],
            "desired_outcomes": "Patients seen when they need to be, not by the calendar.",
            "success_measures": "Routine follow-ups down by a quarter with no rise in emergency attendances.",
            "budget_min": 20_000,
            "budget_max": 70_000,
            "status": "open",
        },
    ),
)


# --- adoptions --------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One move, `days_ago` days before the seed."""

    days_ago: int
    to_stage: str
    reason: str | None = None
    reason_code: str | None = None
    override: bool = False
    # Gate values set just before the move, over the innovation's defaults.
    gate: dict[str, Any] = field(default_factory=dict)


def forward(*days: int) -> tuple[Step, ...]:
    """Forward moves, one stage at a time from `identified`, on these days."""
    return tuple(Step(d, stage) for d, stage in zip(days, FORWARD, strict=False))


def back(days: int, stage: str, reason: str) -> Step:
    return Step(days, stage, reason=reason)


def pause(days: int, reason: str) -> Step:
    return Step(days, PAUSED, reason=reason)


def stop(days: int, code: str, reason: str, **gate: Any) -> Step:
    return Step(days, NOT_PROGRESSED, reason=reason, reason_code=code, gate=gate)


@dataclass(frozen=True)
class Adopt:
    key: str
    innovation: str
    organisation: str
    started_days_ago: int
    lead: tuple[str, str] | None
    steps: tuple[Step, ...] = ()
    challenge: str | None = None
    notes: str = ""


ADOPTIONS: tuple[Adopt, ...] = (
    # NeedleSmart: from Liverpool's wards outwards.
    Adopt(
        "needlesmart-rem",
        "needlesmart",
        "rem",
        700,
        ("Claire Hughes", "claire.hughes@nhs.example"),
        forward(680, 640, 600, 470, 260),
        challenge="needlestick",
        notes="Started on two surgical wards; now on every adult inpatient ward.",
    ),
    Adopt(
        "needlesmart-rbs",
        "needlesmart",
        "rbs",
        300,
        ("Tom Kavanagh", "tom.kavanagh@nhs.example"),
        (
            *forward(280, 230),
            pause(200, "Sharps contract under review by procurement; wait for the outcome."),
            Step(170, CO_DESIGN),
            Step(150, REAL_WORLD_TESTING),
        ),
    ),
    Adopt(
        "needlesmart-care-home",
        "needlesmart",
        "care-home-calderstones",
        20,
        None,
        notes="Raised by the district nursing team who give insulin injections here.",
    ),
    Adopt(
        "needlesmart-rj1", "needlesmart", "rj1", 120, ("Priya Raman", "priya.raman@nhs.example"), forward(95)
    ),
    Adopt(
        "needlesmart-rbn",
        "needlesmart",
        "rbn",
        420,
        ("Gareth Lloyd", "gareth.lloyd@nhs.example"),
        forward(400, 350, 300, 110),
    ),
    # Flo.
    Adopt(
        "flo-rw4",
        "flo",
        "rw4",
        720,
        ("Helen Ashworth", "helen.ashworth@nhs.example"),
        forward(700, 660, 620, 540, 330),
    ),
    Adopt(
        "flo-princes-park",
        "flo",
        "gp-princes-park",
        500,
        ("Dr Kwame Mensah", "kwame.mensah@nhs.example"),
        forward(470, 440, 400, 250),
    ),
    Adopt(
        "flo-city-council",
        "flo",
        "liverpool-city-council",
        460,
        ("Sarah O'Neill", "sarah.oneill@council.example"),
        (
            *forward(430, 390, 330),
            stop(
                170,
                "insufficient_evidence",
                "Good engagement, but the test with the reablement service showed no fall in home visits.",
                evaluation_outcome="mixed",
            ),
        ),
    ),
    Adopt(
        "flo-rh8",
        "flo",
        "rh8",
        380,
        ("Jenny Pascoe", "jenny.pascoe@nhs.example"),
        (
            *forward(350, 300, 240),
            pause(90, "Community nursing team redeployed for winter; resume in spring."),
        ),
    ),
    # The emergency department safety checklist.
    Adopt(
        "ed-checklist-rbs",
        "ed-checklist",
        "rbs",
        150,
        ("Dr Rachel Byrne", "rachel.byrne@nhs.example"),
        forward(120, 60),
        challenge="children-ed-waits",
        notes="Co-designing paediatric observation thresholds with the department's nurses.",
    ),
    Adopt(
        "ed-checklist-rem",
        "ed-checklist",
        "rem",
        420,
        ("Dr Mark Doyle", "mark.doyle@nhs.example"),
        forward(400, 330, 260, 140),
    ),
    Adopt(
        "ed-checklist-ryr",
        "ed-checklist",
        "ryr",
        690,
        ("Anna Whitfield", "anna.whitfield@nhs.example"),
        (
            *forward(670, 630),
            Step(
                560,
                ADOPTED,
                override=True,
                reason=(
                    "Already evaluated at North Bristol and across "
                    "the West of England; adopted on that evidence."
                ),
            ),
            Step(350, SUSTAINED),
        ),
    ),
    Adopt(
        "ed-checklist-rbn",
        "ed-checklist",
        "rbn",
        330,
        ("Dr Imran Qureshi", "imran.qureshi@nhs.example"),
        (
            *forward(300),
            stop(270, "superseded", "The trust chose a checklist built into its new electronic record."),
        ),
    ),
    # ESCAPE-pain.
    Adopt(
        "escape-pain-city-council",
        "escape-pain",
        "liverpool-city-council",
        710,
        ("Dave Fitzgerald", "dave.fitzgerald@council.example"),
        forward(690, 650, 610, 520, 300),
        challenge="joint-pain",
        notes="Runs in four leisure centres across the city.",
    ),
    Adopt(
        "escape-pain-rr8",
        "escape-pain",
        "rr8",
        400,
        ("Lucy Barraclough", "lucy.barraclough@nhs.example"),
        forward(370, 320, 270, 60),
    ),
    Adopt(
        "escape-pain-rw4",
        "escape-pain",
        "rw4",
        250,
        ("Joanne Meadows", "joanne.meadows@nhs.example"),
        forward(220, 180, 100),
    ),
    Adopt("escape-pain-old-swan", "escape-pain", "gp-old-swan", 35, None),
    # Atrial fibrillation detection.
    Adopt(
        "af-qyg",
        "af-detection",
        "qyg",
        650,
        ("Dr Sian Roberts", "sian.roberts@nhs.example"),
        forward(630, 600, 560, 430),
        challenge="af-undiagnosed",
        notes="Devices placed in practices across Liverpool, Sefton and Knowsley.",
    ),
    Adopt(
        "af-princes-park",
        "af-detection",
        "gp-princes-park",
        640,
        ("Dr Kwame Mensah", "kwame.mensah@nhs.example"),
        forward(620, 590, 550, 440, 230),
        challenge="af-undiagnosed",
    ),
    Adopt(
        "af-aintree-park",
        "af-detection",
        "gp-aintree-park",
        560,
        ("Maria Santos", "maria.santos@nhs.example"),
        (
            *forward(530),
            stop(500, "no_funding", "No money for training time this year."),
            Step(380, IDENTIFIED, reason="The ICB now funds training for the practices that take part."),
            Step(360, NEEDS_ASSESSMENT),
            Step(45, CO_DESIGN),
        ),
        challenge="af-undiagnosed",
    ),
    Adopt(
        "af-rbq",
        "af-detection",
        "rbq",
        90,
        ("Dr Owen Griffiths", "owen.griffiths@nhs.example"),
        forward(70),
        notes="For patients with palpitations referred to the arrhythmia clinic.",
    ),
    Adopt(
        "af-rrk",
        "af-detection",
        "rrk",
        450,
        ("Harpreet Sandhu", "harpreet.sandhu@nhs.example"),
        (
            *forward(420, 380, 330),
            stop(200, "no_funding", "The test was grant-funded; no recurrent funding after it."),
        ),
    ),
    # The liver disease pathway.
    Adopt(
        "liver-rem",
        "liver-pathway",
        "rem",
        480,
        ("Dr Fiona McAllister", "fiona.mcallister@nhs.example"),
        (
            *forward(450, 400, 340),
            back(
                300, CO_DESIGN, "Not enough scanner sessions; re-plan the clinics with the community teams."
            ),
            Step(210, REAL_WORLD_TESTING),
        ),
    ),
    Adopt(
        "liver-qyg",
        "liver-pathway",
        "qyg",
        50,
        ("Dr Sian Roberts", "sian.roberts@nhs.example"),
        forward(25),
        challenge="liver-early",
    ),
    Adopt(
        "liver-rgt",
        "liver-pathway",
        "rgt",
        360,
        ("Dr Ben Hollis", "ben.hollis@nhs.example"),
        (
            *forward(330, 280),
            pause(150, "Waiting for a hepatology consultant to be appointed to lead the pathway."),
        ),
    ),
    # Diabetes Book & Learn.
    Adopt(
        "diabetes-qyg",
        "diabetes-book-learn",
        "qyg",
        200,
        ("Nadia Hussain", "nadia.hussain@nhs.example"),
        forward(170, 110),
    ),
    Adopt(
        "diabetes-old-swan",
        "diabetes-book-learn",
        "gp-old-swan",
        280,
        ("Paula Kerr", "paula.kerr@nhs.example"),
        (
            *forward(250),
            stop(220, "poor_local_fit", "Courses here are already booked through a single local hub."),
        ),
    ),
    Adopt("diabetes-r0a", "diabetes-book-learn", "r0a", 14, None),
    Adopt(
        "diabetes-rj1",
        "diabetes-book-learn",
        "rj1",
        730,
        ("Grace Adeyemi", "grace.adeyemi@nhs.example"),
        forward(715, 690, 660, 600, 400),
    ),
    # Flo spreads, a site or two a quarter, as it did through the networks:
    # its page's chart of adoptions per quarter has something to show.
    Adopt(
        "flo-old-swan",
        "flo",
        "gp-old-swan",
        690,
        ("Paula Kerr", "paula.kerr@nhs.example"),
        forward(670, 650, 620, 580, 380),
    ),
    Adopt(
        "flo-aintree-park",
        "flo",
        "gp-aintree-park",
        600,
        ("Maria Santos", "maria.santos@nhs.example"),
        forward(585, 560, 530, 470),
    ),
    Adopt(
        "flo-qyg",
        "flo",
        "qyg",
        520,
        ("Nadia Hussain", "nadia.hussain@nhs.example"),
        forward(500, 470, 430, 390),
        notes="Commissioned for the practices of Liverpool, Sefton and Knowsley.",
    ),
    Adopt(
        "flo-rr8",
        "flo",
        "rr8",
        400,
        ("Lucy Barraclough", "lucy.barraclough@nhs.example"),
        forward(380, 340, 290, 200),
    ),
    Adopt(
        "flo-rrk",
        "flo",
        "rrk",
        330,
        ("Harpreet Sandhu", "harpreet.sandhu@nhs.example"),
        forward(310, 280, 230, 120),
    ),
    Adopt(
        "flo-ryr",
        "flo",
        "ryr",
        240,
        ("Anna Whitfield", "anna.whitfield@nhs.example"),
        forward(225, 190, 150, 40),
    ),
    Adopt(
        "flo-r0a",
        "flo",
        "r0a",
        150,
        ("Dr Ben Hollis", "ben.hollis@nhs.example"),
        (
            *forward(130, 100),
            stop(60, "no_capacity", "The community matrons cannot take on more patients this winter."),
        ),
    ),
)


# --- responses to the open challenges ------------------------------------------------


@dataclass(frozen=True)
class Resp:
    """An innovation put forward `days_ago` days before the seed, then moved:
    each move is (days ago, status, reason); the challenge owner decides, the
    supplier withdraws."""

    challenge: str
    innovation: str
    days_ago: int
    pitch: str
    moves: tuple[tuple[int, str, str | None], ...] = ()


RESPONSES: tuple[Resp, ...] = (
    Resp(
        "liver-early",
        "liver-pathway",
        60,
        (
            "The Nottingham pathway tests people at risk in primary care with blood tests and a scan, "
            "and has found liver scarring years earlier than an emergency admission would. We will "
            "help your practices set it up and train the community teams."
        ),
        ((45, "shortlisted", None), (30, "selected", "A proven pathway for primary care, and ready now.")),
    ),
    Resp(
        "liver-early",
        "flo",
        55,
        (
            "Flo can remind people at risk to have their liver tests and report their symptoms by text "
            "message, with no app to install."
        ),
        ((40, "declined", "We need a diagnostic pathway first; reminders can follow once it runs."),),
    ),
    Resp(
        "children-ed-waits",
        "ed-checklist",
        150,
        (
            "The emergency department safety checklist sets out which observations are repeated, and "
            "when, for every patient who waits. Adapted for children, it makes sure the child who is "
            "getting worse is seen."
        ),
        ((120, "shortlisted", "The checklist fits our paediatric early warning score."),),
    ),
    Resp(
        "cardiac-remote",
        "flo",
        30,
        (
            "Flo asks patients at home for their blood pressure, pulse and weight by text message after "
            "discharge, and flags readings outside the range the cardiac team sets."
        ),
    ),
    Resp(
        "cardiac-remote",
        "af-detection",
        28,
        (
            "A single-lead ECG that patients record at home on their phone catches new atrial "
            "fibrillation after surgery, and the recordings reach the arrhythmia team the same day."
        ),
    ),
    Resp(
        "neuro-follow-up",
        "flo",
        20,
        "Flo can ask people with epilepsy about seizures and side effects between appointments.",
        ((12, "withdrawn", "Our epilepsy protocols are not ready yet; we will respond to the next call."),),
    ),
)


# --- applications to join -------------------------------------------------------------


@dataclass(frozen=True)
class Apply:
    """An application to join, so the review queue has something in it. Its
    fixed reference keys it; "O" reads as zero, so HIE-DEMO-0001 is found."""

    reference: str
    days_ago: int
    fields: dict[str, Any]
    # What the team did with it: a status and its message, and a note of their own.
    status: str | None = None
    message: str = ""
    note: str | None = None


APPLICATIONS: tuple[Apply, ...] = (
    Apply(
        "HIE-DEMO-0001",
        3,
        {
            "company_name": "Halton Precision Coatings Ltd",
            "companies_house_number": "09876543",
            "address": "Unit 12, Manor Park, Runcorn",
            "postcode": "WA7 1AB",
            "website": "https://haltoncoatings.example",
            "company_size": "small",
            "contact_name": "Priya Raman",
            "contact_email": "priya.raman@haltoncoatings.example",
            "contact_role": "Technical director",
            "product_name": "Antimicrobial surface coating",
            "product_description": (
                "A hard-wearing coating for metal and plastic parts that kills bacteria on contact, "
                "developed for aircraft cabin fittings."
            ),
            "origin_sector": "Aerospace",
            "current_users": "Aircraft interior makers and two UK airlines.",
            "health_problem": (
                "Hospital-acquired infections spread by touch: door handles, bed rails and trolley grips."
            ),
            "care_settings": ["acute_inpatient", "care_home"],
            "evidence": "ISO 22196 antibacterial testing; AS9100 quality certification.",
            "support_wanted": ["clinical_introductions", "evidence_and_evaluation", "regulation"],
        },
    ),
    Apply(
        "HIE-DEMO-0002",
        12,
        {
            "company_name": "Northern Fleet Telematics",
            "address": "3 Piccadilly Place, Manchester",
            "postcode": "M1 1AE",
            "company_size": "medium",
            "contact_name": "Tom Whitaker",
            "contact_email": "tom.whitaker@northernfleet.example",
            "contact_role": "Head of partnerships",
            "product_name": "Route planning for mobile teams",
            "product_description": (
                "Plans the day's routes for delivery fleets from live traffic, and re-plans them when a "
                "job is added or a van is delayed."
            ),
            "origin_sector": "Logistics",
            "current_users": "Parcel carriers and wholesalers across the North of England.",
            "health_problem": (
                "District nurses and home care workers lose time between visits; a late visit means a "
                "late medicine or a missed meal."
            ),
            "care_settings": ["community", "social_care"],
            "support_wanted": ["market_access", "funding"],
        },
        status="more_information_needed",
        message=(
            "Thank you. Which NHS or care organisations have you spoken to so far, and where is the "
            "visit and location data stored?"
        ),
    ),
    Apply(
        "HIE-DEMO-0003",
        20,
        {
            "company_name": "Birkenhead Games Studio",
            "companies_house_number": "11223344",
            "address": "Hamilton Square, Birkenhead",
            "postcode": "CH41 5EE",
            "website": "https://birkenheadgames.example",
            "company_size": "micro",
            "contact_name": "Aoife Byrne",
            "contact_email": "aoife@birkenheadgames.example",
            "contact_role": "Founder",
            "product_name": "Motion-controlled exercise games",
            "product_description": (
                "Games played by moving your arms and body in front of a camera, made for home consoles."
            ),
            "origin_sector": "Gaming",
            "current_users": "Around 40,000 players on two consoles.",
            "health_problem": (
                "People recovering from a stroke find repetitive arm exercises dull and stop doing them "
                "at home."
            ),
            "care_settings": ["community", "acute_outpatient"],
            "evidence": "A small usability study with a university physiotherapy course.",
            "support_wanted": ["clinical_introductions", "evidence_and_evaluation"],
        },
        status="in_review",
        note="A good fit for stroke rehabilitation: ask the community therapy team at Mersey Care.",
    ),
)


# --- demo users (development only) ---------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    who: str
    name: str
    email: str
    organisation: str
    role: Role


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin at the exchange", "Exchange Admin", "admin@hie.example", "exchange", Role.admin),
    DemoUser(
        "facilitator at the Innovation Agency",
        "Faye Facilitator",
        "facilitator@innovationagency.example",
        "innovation-agency",
        Role.facilitator,
    ),
    DemoUser(
        "challenge owner at Liverpool University Hospitals",
        "Claire Hughes",
        "challenge.owner@liverpoolft.example",
        "rem",
        Role.member,
    ),
    DemoUser(
        "supplier at NeedleSmart", "Sam Supplier", "supplier@needlesmart.example", "needlesmart", Role.member
    ),
)


def demo_sign_ins() -> list[tuple[str, str, str]]:
    """Who can sign in to a development exchange: (who, email, password)."""
    return [(u.who, u.email, DEMO_PASSWORD) for u in DEMO_USERS]


# --- seeding -------------------------------------------------------------------------


def seed(session: Session) -> dict[str, int]:
    """Load the demonstration data; returns the number of new records of each
    kind (all zero when it is already there)."""
    return _Seeder(session, utcnow()).run()


def _ref(kind: str, key: str) -> str:
    return REF.format(kind=kind, key=key)


class _Seeder:
    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.counts = dict.fromkeys(
            (
                "organisations",
                "innovations",
                "challenges",
                "adoptions",
                "transitions",
                "responses",
                "users",
                "applications",
            ),
            0,
        )
        self.orgs: dict[str, Organisation] = {}
        self.innovations: dict[str, Innovation] = {}
        self.challenges: dict[str, Challenge] = {}

    def at(self, days_ago: int) -> datetime:
        """A working-hours moment `days_ago` days before the seed."""
        assert days_ago >= 1
        day = self.now - timedelta(days=days_ago)
        return day.replace(hour=9 + days_ago % 8, minute=(days_ago * 7) % 60, second=0, microsecond=0)

    def run(self) -> dict[str, int]:
        self.exchange = self._exchange()
        self.admin = self._principal(self.exchange, Role.admin, ACTOR_LABEL)
        for org in ORGANISATIONS[1:]:
            self.orgs[org.key] = self._organisation(org)
        self.facilitators: dict[str | None, Principal] = {
            org.region: self._principal(org, Role.facilitator, f"{ACTOR_LABEL} ({org.name})")
            for org in self.orgs.values()
            if org.kind == "health_innovation_network"
        }
        for inn in INNOVATIONS:
            self.innovations[inn.key] = self._innovation(inn)
        for chal in CHALLENGES:
            self.challenges[chal.key] = self._challenge(chal)
        self.pipeline = pipeline.stages(self.session)
        for adopt in ADOPTIONS:
            self._adoption(adopt)
        for resp in RESPONSES:
            self._response(resp)
        for application in APPLICATIONS:
            self._application(application)
        if get_settings().environment == "development":
            for user in DEMO_USERS:
                self._user(user)
        self.session.flush()
        return self.counts

    # --- who acts

    @staticmethod
    def _principal(org: Organisation, role: Role, label: str) -> Principal:
        return Principal(
            organisation_id=org.id,
            organisation_kind=org.kind,
            region=org.region,
            role=role,
            scopes=frozenset(Scope) if role is Role.admin else frozenset({Scope.read, Scope.write}),
            label=label,
        )

    def _staff(self, region: str | None) -> Principal:
        """The facilitator of the adopter's region if the demo has its network, else the admin."""
        return self.facilitators.get(region, self.admin) if region else self.admin

    # --- records

    def _backdate(self, record: Any, days_ago: int) -> None:
        record.created_at = record.updated_at = self.at(days_ago)

    def _owned(self, model: Any, ref: str) -> Any:
        return self.session.exec(
            select(model).where(model.owner_org_id == self.exchange.id, model.external_ref == ref)
        ).first()

    def _exchange(self) -> Organisation:
        found = self.session.exec(
            select(Organisation)
            .where(Organisation.name == EXCHANGE.name, Organisation.kind == EXCHANGE.kind)
            .order_by(col(Organisation.id))
        ).first()
        if found is not None:
            return found
        org = organisations.create(self.session, None, self._org_data(EXCHANGE), is_exchange=True)
        self._backdate(org, JOINED_DAYS_AGO + 100)
        self.counts["organisations"] += 1
        return org

    @staticmethod
    def _org_data(org: Org) -> OrganisationCreate:
        return OrganisationCreate.model_validate(
            {
                "name": org.name,
                "kind": org.kind,
                "region": org.region,
                "ods_code": org.ods_code,
                "external_ref": _ref("org", org.key),
            }
        )

    def _organisation(self, spec: Org) -> Organisation:
        found = self._owned(Organisation, _ref("org", spec.key))
        if found is None and spec.ods_code:
            # Already known to the exchange under its ODS code: use that record.
            found = self.session.exec(
                select(Organisation).where(Organisation.ods_code == spec.ods_code)
            ).first()
        if found is not None:
            return found
        org = organisations.create(self.session, self.admin, self._org_data(spec))
        self._backdate(org, JOINED_DAYS_AGO)
        self.counts["organisations"] += 1
        return org

    def _innovation(self, spec: Inn) -> Innovation:
        ref = _ref("innovation", spec.key)
        found = self._owned(Innovation, ref)
        if found is not None:
            return found
        data = InnovationCreate.model_validate(
            {**spec.fields, "supplier_id": self.orgs[spec.supplier].id, "external_ref": ref}
        )
        innovation = innovations.create(self.session, self.admin, data)
        self._backdate(innovation, JOINED_DAYS_AGO - 60)
        self.counts["innovations"] += 1
        return innovation

    def _challenge(self, spec: Chal) -> Challenge:
        ref = _ref("challenge", spec.key)
        found = self._owned(Challenge, ref)
        if found is not None:
            return found
        opens = self.at(spec.opened_days_ago).date()
        data = ChallengeCreate.model_validate(
            {
                **spec.fields,
                "owner_id": self.orgs[spec.owner].id,
                "opens_on": opens,
                "closes_on": opens + timedelta(days=spec.open_for_days),
                "external_ref": ref,
            }
        )
        challenge = challenges.create(self.session, self.admin, data)
        self._backdate(challenge, spec.opened_days_ago + 7)
        self.counts["challenges"] += 1
        return challenge

    def _adoption(self, spec: Adopt) -> None:
        ref = _ref("adoption", spec.key)
        innovation, adopter = self.innovations[spec.innovation], self.orgs[spec.organisation]
        if self._owned(Adoption, ref) is not None:
            return
        pair = select(Adoption.id).where(
            Adoption.innovation_id == innovation.id, Adoption.organisation_id == adopter.id
        )
        if self.session.exec(pair).first() is not None:
            return  # adopted outside the demo: leave it be
        challenge = self.challenges[spec.challenge] if spec.challenge else None
        loaded = adoptions.create(
            self.session,
            self.admin,
            AdoptionCreate(
                innovation_id=innovation.id,
                organisation_id=adopter.id,
                challenge_id=challenge.id if challenge else None,
                notes=spec.notes,
                external_ref=ref,
            ),
        )
        adoption = loaded.adoption
        self._backdate(adoption, spec.started_days_ago)
        adoption.stage_entered_at = adoption.created_at
        self.counts["adoptions"] += 1
        texts = next(i.gate for i in INNOVATIONS if i.key == spec.innovation)
        last = spec.started_days_ago
        for step in spec.steps:
            assert step.days_ago < last, f"{spec.key}: steps must move forward in time"
            last = step.days_ago
            self._step(loaded, spec, step, texts)
        self.session.flush()

    def _step(self, loaded: adoptions.Loaded, spec: Adopt, step: Step, texts: dict[str, str]) -> None:
        adoption = loaded.adoption
        staff = self._staff(loaded.adopter_region)
        lead_actor = (
            self._principal(self.orgs[spec.organisation], Role.member, f"{spec.lead[0]} <{spec.lead[1]}>")
            if spec.lead
            else None
        )
        reopening = adoption.stage == NOT_PROGRESSED
        actor = staff if step.override or reopening or lead_actor is None else lead_actor

        # What the adoption shows before it moves: the lead, and the target's gate items.
        changes: dict[str, Any] = {}
        if step.to_stage == NEEDS_ASSESSMENT and spec.lead and not adoption.lead_name:
            changes["lead"] = Lead(name=spec.lead[0], email=spec.lead[1])
        gate = {
            item.key: self._gate_value(item, texts)
            for item in self.pipeline.items.get(step.to_stage, ())
            if item.key != pipeline.LEAD_ITEM and item.key not in (adoption.gate or {})
        }
        gate.update(step.gate)
        if gate:
            changes["gate"] = gate
        if changes:
            adoptions.update(self.session, actor, loaded, AdoptionUpdate(**changes), None)

        pipeline.move(
            self.session,
            actor,
            adoption,
            pipeline.MoveRequest(
                to_stage=step.to_stage,
                reason=step.reason,
                reason_code=step.reason_code,
                override=step.override,
            ),
            adopter_region=loaded.adopter_region,
            supplier_id=loaded.supplier_id,
            now=self.at(step.days_ago),
        )
        self.counts["transitions"] += 1

    @staticmethod
    def _gate_value(item: Any, texts: dict[str, str]) -> Any:
        if item.kind == "bool":
            return True
        if item.kind == "choice":
            return item.required_value or (item.choices or [None])[0]
        return texts.get(item.key, item.label)

    def _response(self, spec: Resp) -> None:
        challenge, innovation = self.challenges[spec.challenge], self.innovations[spec.innovation]
        pair = select(Response.id).where(
            Response.challenge_id == challenge.id, Response.innovation_id == innovation.id
        )
        if self.session.exec(pair).first() is not None:
            return
        if challenge.status != "open" or innovation.status != "published":
            return  # changed outside the demo: leave it be
        inn = next(i for i in INNOVATIONS if i.key == spec.innovation)
        chal = next(c for c in CHALLENGES if c.key == spec.challenge)
        supplier = self.orgs[inn.supplier]
        owner = self.orgs[chal.owner]
        as_supplier = self._principal(supplier, Role.member, f"{ACTOR_LABEL} ({supplier.name})")
        as_owner = self._principal(owner, Role.member, f"{ACTOR_LABEL} ({owner.name})")
        data = ResponseCreate(innovation_id=innovation.id, pitch=spec.pitch)
        loaded = responses.respond(self.session, as_supplier, challenge, data)
        self._backdate(loaded.response, spec.days_ago)
        self.counts["responses"] += 1
        for days_ago, status, reason in spec.moves:
            actor = as_supplier if status == "withdrawn" else as_owner
            move = ResponseUpdate.model_validate({"status": status, "reason": reason})
            responses.move(self.session, actor, loaded, move, None)
            loaded.response.updated_at = self.at(days_ago)
        self.session.flush()

    def _user(self, spec: DemoUser) -> None:
        email = spec.email.lower()
        if self.session.exec(select(User.id).where(func.lower(User.email) == email)).first():
            return
        org = self.exchange if spec.organisation == "exchange" else self.orgs[spec.organisation]
        users.create(
            self.session,
            None,
            UserCreate(email=email, name=spec.name, organisation_id=org.id, role=spec.role),
            DEMO_PASSWORD,
        )
        self.counts["users"] += 1

    def _application(self, spec: Apply) -> None:
        reference = applications.canonical_reference(spec.reference)
        if self.session.exec(select(Application.id).where(Application.reference == reference)).first():
            return
        data = ApplicationCreate.model_validate(
            {**spec.fields, "consent_to_contact": True, "consent_to_data": True}
        )
        application = applications.submit(
            self.session,
            get_settings(),
            data,
            ACTOR_LABEL,
            now=self.at(spec.days_ago),
            reference=reference,
        )
        if spec.status:
            review = Review.model_validate({"status": spec.status, "message": spec.message})
            applications.review(
                self.session, self.admin, application, review, None, now=self.at(spec.days_ago - 1)
            )
        if spec.note:
            applications.add_note(self.session, self.admin, application, spec.note)
        self.counts["applications"] += 1
