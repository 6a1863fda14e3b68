"""Tables and the API's schemas, one module per entity.

Importing this package registers every table on `metadata`, which Alembic
compares against the migrations.
"""

from app.models.adoption import Adoption
from app.models.api_key import ApiKey
from app.models.base import metadata
from app.models.challenge import Challenge, ChallengeFacet
from app.models.event import Event
from app.models.innovation import Innovation, InnovationFacet
from app.models.organisation import Organisation
from app.models.stage import GateItem, Stage
from app.models.transition import Transition
from app.models.user import User
from app.models.web_session import SignInFailure, WebSession

__all__ = [
    "Adoption",
    "ApiKey",
    "Challenge",
    "ChallengeFacet",
    "Event",
    "GateItem",
    "Innovation",
    "InnovationFacet",
    "Organisation",
    "SignInFailure",
    "Stage",
    "Transition",
    "User",
    "WebSession",
    "metadata",
]
