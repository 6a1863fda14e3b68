from pydantic import BaseModel

from app.models.adoption import AdoptionPublic
from app.models.transition import TransitionPublic


class MovePublic(BaseModel):
    """The answer to a move: the transition written and the adoption as it now is."""

    transition: TransitionPublic
    adoption: AdoptionPublic
