"""Tables and the API's schemas, one module per entity.

Importing this package registers every table on `metadata`, which Alembic
compares against the migrations.
"""

from app.models.adoption import Adoption
from app.models.api_key import ApiKey
from app.models.application import Application, ApplicationNote
from app.models.base import metadata
from app.models.challenge import Challenge, ChallengeFacet
from app.models.event import Event
from app.models.idempotency import IdempotencyKey
from app.models.innovation import Innovation, InnovationFacet
from app.models.organisation import Organisation
from app.models.rate_limit import RateLimitCounter
from app.models.response import Response
from app.models.stage import GateItem, Stage
from app.models.transition import Transition
from app.models.user import PasswordSetup, User
from app.models.web_session import SignInFailure, WebSession
from app.models.webhook import Webhook, WebhookDelivery

__all__ = [
    "Adoption",
    "ApiKey",
    "Application",
    "ApplicationNote",
    "Challenge",
    "ChallengeFacet",
    "Event",
    "GateItem",
    "IdempotencyKey",
    "Innovation",
    "InnovationFacet",
    "Organisation",
    "PasswordSetup",
    "RateLimitCounter",
    "Response",
    "SignInFailure",
    "Stage",
    "Transition",
    "User",
    "WebSession",
    "Webhook",
    "WebhookDelivery",
    "metadata",
]
