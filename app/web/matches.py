"""What the pages show of matching: the innovations that could answer a
challenge and the challenges an innovation could answer (panels on their
pages), and, on the form that adds an innovation, a warning that it may
already be on the exchange. The service (app/services/matching.py) does
the matching; this only chooses how much of it a page shows."""

import hashlib
from dataclasses import dataclass

from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import Principal
from app.models.challenge import Challenge
from app.models.innovation import Innovation
from app.models.match import ChallengeMatch, InnovationMatch, MatchFactor, SimilarInnovation
from app.services import matching
from app.web.forms import stripped

# Matches a panel lists: enough to act on, few enough to read.
PANEL_SIZE = 5
# Reasons about the innovation alone, the same for every challenge it could
# answer: its page says them already.
INNOVATION_ONLY = frozenset({MatchFactor.maturity, MatchFactor.evidence, MatchFactor.regulatory})
# The form field that carries back what the person was warned about.
CHECKED = "duplicates_checked"


def possible_innovations(session: Session, challenge: Challenge) -> list[InnovationMatch]:
    """The challenge page's "Possible innovations"."""
    return matching.for_challenge(session, challenge, limit=PANEL_SIZE)


def answerable_challenges(session: Session, innovation: Innovation) -> list[ChallengeMatch]:
    """The innovation page's "Challenges it could answer", each with the
    reasons that tell the challenges apart."""
    found = matching.for_innovation(session, innovation, limit=PANEL_SIZE)
    for match in found:
        match.reasons = [r for r in match.reasons if r.factor not in INNOVATION_ONLY]
    return found


@dataclass(frozen=True)
class DuplicateWarning:
    similar: list[SimilarInnovation]
    checked: str  # goes back in the form as CHECKED


def _fingerprint(name: str, summary: str) -> str:
    """A short digest of the name and summary a person was warned about."""
    text = f"{' '.join(name.lower().split())}\n{' '.join(summary.lower().split())}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def duplicate_warning(
    session: Session, principal: Principal, form: FormData, name: str, summary: str
) -> DuplicateWarning | None:
    """The innovations like the one being added, to show with the form
    again before it is saved; None to save it: when there are none, or when
    the person was already warned about this same name and summary and
    submitted again (the warning never blocks)."""
    checked = _fingerprint(name, summary)
    if stripped(form, CHECKED) == checked:
        return None
    similar = matching.similar_innovations(session, principal, name, summary)
    return DuplicateWarning(similar, checked) if similar else None
