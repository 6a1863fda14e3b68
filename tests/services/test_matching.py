"""Matching (app/services/matching.py) on hand-built exchanges where the
right order is obvious: fit first (shared care settings and categories,
then words in common), then readiness, then spread, more for adopters like
the challenge's owner; every reason in plain words, its points adding up to
the score; drafts, archived innovations and challenges not open never
matched; and the duplicate check on a new innovation's name and summary."""

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from app.auth import Principal
from app.models import Challenge, Innovation, Organisation
from app.models.match import MatchFactor
from app.models.vocabulary import CareSetting, Category, Role, Scope
from app.services import matching
from app.services.matching import Pair, Spread, Weights
from tests.factories import World, make_adoption, make_challenge, make_innovation, make_org

# Texts whose key words no other record here shares, so only facets count.
PLAIN = {"name": "Widget", "summary": "A widget."}
# All the care settings and categories of `challenge`'s default.
FITS_ALL: dict[str, Any] = {"care_settings": ["primary_care", "community"], "categories": ["digital"]}


def innovation(session: Session, supplier: Organisation, name: str, **values: Any) -> Innovation:
    return make_innovation(session, supplier, **{**PLAIN, "name": name, **values})


def challenge(session: Session, owner: Organisation, **values: Any) -> Challenge:
    data = {
        "title": "Quieter nights",
        "problem_statement": "Unsettled residents overnight.",
        "care_settings": ["primary_care", "community"],
        "categories": ["digital"],
        **values,
    }
    return make_challenge(session, owner, **data)


def names(found: list[Any]) -> list[str]:
    return [m.innovation.name for m in found]


def texts(match: Any) -> list[str]:
    return [r.text for r in match.reasons]


def member(org: Organisation) -> Principal:
    return Principal(
        organisation_id=org.id,
        organisation_kind=org.kind,
        region=org.region,
        role=Role.member,
        scopes=frozenset(Scope),
        label="tests",
    )


# --- fit ----------------------------------------------------------------


def test_more_shared_care_settings_and_categories_rank_higher(session: Session, world: World) -> None:
    need = challenge(session, world.trust)
    innovation(
        session, world.supplier, "Three", care_settings=["primary_care", "community"], categories=["digital"]
    )
    innovation(session, world.supplier, "Two", care_settings=["community"], categories=["digital"])
    innovation(session, world.supplier, "One", care_settings=["primary_care"], categories=["ai"])
    innovation(session, world.supplier, "None", care_settings=["mental_health"], categories=["ai"])

    found = matching.for_challenge(session, need)

    assert names(found) == ["Three", "Two", "One"]
    assert [m.score for m in found] == [8.0, 5.0, 3.0]
    assert texts(found[0]) == ["shares care settings: primary care, community", "shares category: digital"]
    assert texts(found[2]) == ["shares care setting: primary care"]
    assert found[0].innovation.supplier_name == world.supplier.name


def test_words_in_common_lift_an_innovation_and_find_one_without_shared_facets(
    session: Session, world: World
) -> None:
    need = challenge(
        session,
        world.trust,
        title="Falls at home",
        problem_statement="Detect falls early.",
        care_settings=["community"],
        categories=[],
    )
    innovation(session, world.supplier, "Bed mat", summary="A mat.", care_settings=["community"])
    innovation(
        session,
        world.supplier,
        "Falls sensor",
        summary="Detects a fall at home.",
        care_settings=["community"],
    )
    innovation(session, world.supplier, "Falls alarm", summary="Rings.", care_settings=["mental_health"])

    found = matching.for_challenge(session, need)

    # Key words: falls, home, detect, early; the sensor has three of the four.
    assert names(found) == ["Falls sensor", "Bed mat", "Falls alarm"]
    sensor, mat, alarm = found
    assert texts(sensor) == ["shares care setting: community", "words in common: falls, home, detect"]
    assert [r.points for r in sensor.reasons] == [3.0, 4.5]
    assert sensor.score == 7.5
    assert mat.score == 3.0
    assert texts(alarm) == ["words in common: falls"] and alarm.score == 1.5


def test_readiness_orders_equal_fits(session: Session, world: World) -> None:
    need = challenge(session, world.trust)
    facets: dict[str, Any] = {"care_settings": ["community"], "categories": []}
    innovation(session, world.supplier, "Early idea", maturity="discovery", **facets)
    innovation(session, world.supplier, "Advanced", maturity="advanced", **facets)
    innovation(
        session,
        world.supplier,
        "Proven",
        maturity="ready",
        evidence=[
            {"type": "real_world", "summary": "Two sites"},
            {"type": "clinical_or_care", "summary": "A trial"},
            {"type": "real_world", "summary": "A third site"},
        ],
        regulatory={"ukca_class": "class_iia", "dtac": True, "dcb0129": True},
        **facets,
    )
    innovation(session, world.supplier, "Not a device", regulatory={"ukca_class": "not_applicable"}, **facets)

    found = matching.for_challenge(session, need)

    assert names(found) == ["Proven", "Advanced", "Early idea", "Not a device"]
    proven = found[0]
    assert texts(proven) == [
        "shares care setting: community",
        "ready for adoption",
        "has clinical or care evidence",
        "has real-world evidence",
        "UKCA or CE marked: class IIa",
        "passed DTAC",
        "DCB0129 clinical risk management in place",
    ]
    assert proven.score == pytest.approx(3 + 2 + 0.4 * 2 + 0.5 * 3)
    assert texts(found[1])[-1] == "maturity: advanced" and found[1].score == 4.0
    assert found[3].score == 3.0  # "not applicable" is no mark


def test_adoption_by_organisations_like_the_owner_ranks_higher(session: Session, world: World) -> None:
    # The owner is an NHS trust in the North West.
    need = challenge(session, world.trust)
    facets: dict[str, Any] = {"care_settings": ["community"], "categories": []}
    near = innovation(session, world.supplier, "Near", **facets)
    alike = innovation(session, world.supplier, "Alike", **facets)
    far = innovation(session, world.supplier, "Far", **facets)
    both = innovation(session, world.supplier, "Both", **facets)
    innovation(session, world.supplier, "Nowhere", **facets)
    for _ in range(2):
        make_adoption(session, near, make_org(session, "primary_care", "north_west"), stage="adopted")
        make_adoption(session, alike, make_org(session, "nhs_trust", "london"), stage="sustained")
        make_adoption(session, far, make_org(session, "charity", "london"), stage="adopted")
    make_adoption(session, both, make_org(session, "nhs_trust", "north_west"), stage="adopted")
    make_adoption(session, both, make_org(session, "nhs_trust", "north_west"), stage="adopted")
    # Neither an adoption not yet adopted nor the owner's own counts.
    make_adoption(session, far, make_org(session, "nhs_trust", "north_west"), stage="real_world_testing")
    make_adoption(session, far, world.trust, stage="adopted")

    found = matching.for_challenge(session, need)

    assert names(found) == ["Both", "Alike", "Near", "Far", "Nowhere"]
    by_name = {m.innovation.name: m for m in found}
    spread = {
        name: [r.text for r in m.reasons if r.factor == MatchFactor.adoption] for name, m in by_name.items()
    }
    assert spread == {
        "Both": ["adopted by 2 organisations in North West", "adopted by 2 NHS trusts"],
        "Alike": ["adopted by 2 NHS trusts"],
        "Near": ["adopted by 2 organisations in North West"],
        "Far": ["adopted by 2 organisations in all"],
        "Nowhere": [],
    }
    assert by_name["Both"].score == pytest.approx(3 + 0.5 * 2 + 0.5 * 2 + 0.1 * 2)
    assert by_name["Near"].score == by_name["Alike"].score == pytest.approx(3 + 0.5 * 2 + 0.1 * 2)
    assert by_name["Far"].score == pytest.approx(3 + 0.1 * 2)


def test_every_score_is_the_sum_of_its_reasons(session: Session, world: World) -> None:
    need = challenge(session, world.trust, title="Falls at home", problem_statement="Detect falls early.")
    made = innovation(
        session,
        world.supplier,
        "Falls sensor",
        summary="Detects a fall at home.",
        care_settings=["community", "primary_care"],
        categories=["digital"],
        maturity="ready",
        evidence=[{"type": "pre_clinical", "summary": "Bench tests"}],
        regulatory={"dtac": True},
    )
    make_adoption(session, made, make_org(session, "nhs_trust", "north_west"), stage="adopted")

    for match in matching.for_challenge(session, need):
        assert match.score == pytest.approx(sum(r.points for r in match.reasons))
        assert all(r.points > 0 for r in match.reasons)


def test_a_challenge_with_nothing_to_match_on_has_no_matches(session: Session, world: World) -> None:
    need = challenge(
        session, world.trust, title="The", problem_statement="And so on.", care_settings=[], categories=[]
    )
    assert matching.key_words(need.title, need.problem_statement) == {}
    assert matching.for_challenge(session, need) == []


def test_limit(session: Session, world: World) -> None:
    need = challenge(session, world.trust)
    for i in range(4):
        innovation(session, world.supplier, f"Widget {i}", care_settings=["community"])
    assert len(matching.for_challenge(session, need)) == 4
    assert names(matching.for_challenge(session, need, limit=2)) == ["Widget 0", "Widget 1"]


def test_the_best_fits_are_candidates_however_many_share_less(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQL ranks the candidates by shared facets before anything is read: the
    innovation sharing most is among them though it came last, and a draft
    takes no candidate's place."""
    monkeypatch.setattr(matching, "CANDIDATES", 2)
    need = challenge(session, world.trust)
    for i in range(3):
        innovation(session, world.supplier, f"One {i}", care_settings=["community"], categories=[])
    innovation(session, world.supplier, "Draft", status="draft", **FITS_ALL)
    innovation(session, world.supplier, "All", **FITS_ALL)

    assert names(matching.for_challenge(session, need)) == ["All", "One 0"]


def test_the_database_keeps_each_innovations_facets_for_matching(session: Session, world: World) -> None:
    need = challenge(session, world.trust)
    made = innovation(session, world.supplier, "Moved", care_settings=["mental_health"], categories=["ai"])
    assert matching.for_challenge(session, need) == []

    made.care_settings, made.categories = ["community"], ["digital"]
    session.add(made)
    session.flush()

    assert [m.score for m in matching.for_challenge(session, need)] == [5.0]


def test_the_database_keeps_each_innovations_words_for_matching(session: Session, world: World) -> None:
    """The words a challenge's candidates are found by follow the text (FTS5's
    triggers on SQLite; migration 0011's narrow table on PostgreSQL)."""
    need = challenge(
        session,
        world.trust,
        title="Falls at home",
        problem_statement="Detect falls early.",
        care_settings=[],
        categories=[],
    )
    made = innovation(session, world.supplier, "Bed mat", summary="A mat.", care_settings=["community"])
    assert matching.for_challenge(session, need) == []

    made.summary = "Detects falls at home."
    session.add(made)
    session.flush()

    [found] = matching.for_challenge(session, need)
    assert texts(found) == ["words in common: falls, home, detect"]


def test_each_care_setting_and_category_has_the_facet_bit_migration_0009_gives_it() -> None:
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0009_innovation_facet_mask.py"
    spec = importlib.util.spec_from_file_location("facet_mask_migration", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    singular = {"care_settings": "care_setting", "categories": "category"}
    assert tuple((singular[field], value) for field, value in migration.FACET_BITS) == matching.FACET_BITS
    vocabulary = {("care_setting", c.value) for c in CareSetting} | {("category", c.value) for c in Category}
    assert set(matching.FACET_BITS) == vocabulary


# --- visibility -------------------------------------------------------------------------------


def test_only_published_innovations_are_matched(session: Session, world: World) -> None:
    need = challenge(session, world.trust)
    facets: dict[str, Any] = {"care_settings": ["community"]}
    innovation(session, world.supplier, "Published", **facets)
    innovation(session, world.supplier, "Draft", status="draft", **facets)
    innovation(session, world.supplier, "Archived", status="archived", **facets)

    assert names(matching.for_challenge(session, need)) == ["Published"]


def test_only_open_challenges_are_matched(session: Session, world: World) -> None:
    made = innovation(session, world.supplier, "Widget", care_settings=["community"], categories=["digital"])
    for status in ("open", "draft", "closed", "awarded", "withdrawn"):
        challenge(session, world.trust, title=f"Quieter nights ({status})", status=status)

    found = matching.for_innovation(session, made)

    assert [m.challenge.title for m in found] == ["Quieter nights (open)"]
    assert found[0].challenge.owner_name == world.trust.name


# --- challenges for an innovation -----------------------------------------------------------------


def test_challenges_for_an_innovation_are_scored_as_the_pair_is(session: Session, world: World) -> None:
    made = innovation(
        session,
        world.supplier,
        "Falls sensor",
        summary="Detects a fall at home.",
        care_settings=["community"],
        categories=["digital"],
        maturity="ready",
    )
    make_adoption(session, made, make_org(session, "nhs_trust", "london"), stage="adopted")
    facets: dict[str, Any] = {"care_settings": ["community"], "categories": ["digital"]}
    # The same need, posted by a trust (like the adopter) and by a council.
    trust_need = challenge(
        session, world.trust, title="Falls at home", problem_statement="Sensor wanted.", **facets
    )
    council = make_org(session, "local_authority", "north_west", name="Wirral Council")
    challenge(session, council, title="Falls at home again", problem_statement="Sensor wanted.", **facets)
    challenge(
        session,
        council,
        title="Parking",
        problem_statement="Too few spaces.",
        care_settings=[],
        categories=[],
    )

    found = matching.for_innovation(session, made)

    assert [m.challenge.title for m in found] == ["Falls at home", "Falls at home again"]
    first = found[0]
    # Key words of the innovation: falls, sensor, detects, home; the challenge has three.
    assert texts(first) == [
        "shares care setting: community",
        "shares category: digital",
        "words in common: falls, sensor, home",
        "ready for adoption",
        "adopted by 1 NHS trust",
    ]
    assert first.score == pytest.approx(3 + 2 + 4.5 + 2 + 0.5 + 0.1)
    assert texts(found[1])[-1] == "adopted by 1 organisation in all"
    # The challenge's own view of the pair shares its fit, readiness and spread.
    reverse = matching.for_challenge(session, trust_need)
    assert reverse[0].innovation.name == "Falls sensor"
    assert [r.factor for r in reverse[0].reasons if r.factor != MatchFactor.text] == [
        r.factor for r in first.reasons if r.factor != MatchFactor.text
    ]


# --- the score and its words --------------------------------------------------------------------


def pair(**values: Any) -> Pair:
    base: dict[str, Any] = {
        "shared_care_settings": [],
        "shared_categories": [],
        "words_in_common": [],
        "key_words": 0,
        "maturity": "discovery",
        "evidence_types": [],
        "regulatory": {},
        "spread": Spread(),
        "owner_kind": "nhs_trust",
        "owner_region": "north_west",
    }
    return Pair(**{**base, **values})


@pytest.mark.parametrize(
    ("spread", "said"),
    [
        (Spread(3, 3, 0), ["adopted by 3 organisations in North West"]),
        (Spread(1, 0, 1), ["adopted by 1 NHS trust"]),
        (Spread(2, 0, 0), ["adopted by 2 organisations in all"]),
        (
            Spread(5, 1, 2),
            [
                "adopted by 1 organisation in North West",
                "adopted by 2 NHS trusts",
                "adopted by 5 organisations in all",
            ],
        ),
    ],
)
def test_spread_in_plain_words(spread: Spread, said: list[str]) -> None:
    total, reasons = matching.score(pair(spread=spread))
    assert [r.text for r in reasons] == said
    assert total == pytest.approx(sum(r.points for r in reasons))


def test_spread_counts_only_so_many_adopters() -> None:
    many, few = Spread(50, 50, 50), Spread(5, 5, 5)
    assert matching.score(pair(spread=many))[0] == matching.score(pair(spread=few))[0]


def test_an_owner_of_kind_other_has_no_kind_in_common() -> None:
    _, reasons = matching.score(pair(owner_kind="other", owner_region=None, spread=Spread(2, 0, 2)))
    assert [r.text for r in reasons] == ["adopted by 2 organisations in all"]


def test_words_for_codes_read_mid_sentence() -> None:
    _, reasons = matching.score(
        pair(shared_care_settings=["urgent_and_emergency"], shared_categories=["ai", "in_vitro_diagnostic"])
    )
    assert [r.text for r in reasons] == [
        "shares care setting: urgent and emergency care",
        "shares categories: artificial intelligence (AI), in vitro diagnostic",
    ]


# --- the weights ----------------------------------------------------------------


def test_the_weights_are_one_frozen_record() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        matching.WEIGHTS.care_setting = 10  # type: ignore[misc]
    # Fit leads: two shared care settings outweigh all readiness and spread can add.
    w = matching.WEIGHTS
    readiness = w.ready + 5 * w.evidence_type + w.ukca_mark + w.dtac + w.dcb0129
    spread = (w.same_region + w.same_kind + w.adopted) * w.adopters_counted
    assert 2 * w.care_setting > readiness and 2 * w.care_setting > spread


def test_each_reason_earns_its_weight() -> None:
    w = Weights(care_setting=1, category=10, text=100, ready=1000, evidence_type=7, dtac=0.25)
    total, reasons = matching.score(
        pair(
            shared_care_settings=["community", "pharmacy"],
            shared_categories=["digital"],
            words_in_common=["falls"],
            key_words=4,
            maturity="ready",
            evidence_types=["real_world"],
            regulatory={"dtac": True},
        ),
        w,
    )
    assert [r.points for r in reasons] == [2.0, 10.0, 25.0, 1000.0, 7.0, 0.25]
    assert total == 1044.25


def test_other_weights_change_the_order(session: Session, world: World) -> None:
    need = challenge(session, world.trust)
    innovation(session, world.supplier, "Setting", care_settings=["community"], categories=[])
    innovation(session, world.supplier, "Category", care_settings=[], categories=["digital"])

    assert names(matching.for_challenge(session, need)) == ["Setting", "Category"]
    categories_first = Weights(care_setting=1, category=5)
    assert names(matching.for_challenge(session, need, weights=categories_first)) == ["Category", "Setting"]


# --- key words ----------------------------------------------------------------


def test_key_words_leave_out_common_words_and_fold_plurals() -> None:
    found = matching.key_words(
        "Fewer falls in care homes", "We need 24 hour sensors for the patients at NHS sites"
    )
    assert found == {"fewer": "fewer", "fall": "falls", "home": "homes", "hour": "hour", "sensor": "sensors"}
    assert len(matching.key_words(" ".join(f"word{i}x" for i in range(30)))) == matching.MAX_KEY_WORDS


# --- innovations like one being added -------------------------------------------------------------


def test_similar_innovations_are_found_by_name_and_summary(session: Session, world: World) -> None:
    innovation(
        session, world.supplier, "Bedside falls sensor", summary="Alerts nurses when a patient gets up."
    )
    innovation(
        session, world.supplier, "Ward kiosk", summary="Alerts nurses when someone at the bedside falls."
    )
    innovation(
        session,
        world.supplier,
        "Kiosk",
        summary="Check in.",
        description="A bedside falls sensor that alerts nurses when a patient gets up.",
    )

    found = matching.similar_innovations(
        session,
        member(world.trust),
        "Falls sensor for the bedside",
        "Alerts the nurses when someone gets up.",
    )

    # The kiosk's summary is alike but not its name; the last's description
    # says the same, but only a name and summary count.
    assert [s.name for s in found] == ["Bedside falls sensor"]
    assert found[0].supplier_name == world.supplier.name
    assert matching.similar_innovations(session, member(world.trust), "Parking meter", "Takes coins.") == []


def test_similar_innovations_respect_visibility(session: Session, world: World) -> None:
    other_supplier = make_org(session, "supplier", "london", name="Rival Ltd")
    innovation(session, other_supplier, "Bedside falls sensor", summary="Alerts nurses.", status="draft")
    innovation(session, world.supplier, "Bedside falls monitor", summary="Alerts nurses.", status="draft")

    def seen_by(principal: Principal) -> set[str]:
        return {
            s.name
            for s in matching.similar_innovations(
                session, principal, "Bedside falls sensor", "Alerts nurses."
            )
        }

    assert seen_by(member(world.supplier)) == {"Bedside falls monitor"}  # its own draft only
    assert seen_by(member(other_supplier)) == {"Bedside falls sensor"}
    staff = dataclasses.replace(member(world.network), role=Role.facilitator)
    assert seen_by(staff) == {"Bedside falls sensor", "Bedside falls monitor"}
