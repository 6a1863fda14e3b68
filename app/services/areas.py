"""The area a programme serves, as postcode districts kept in the project
(app/data/areas/*.toml): whether a business is in it needs no network lookup."""

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.models.application import normalise_postcode

AREAS_DIR = Path(__file__).resolve().parent.parent / "data" / "areas"
AREA_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Area:
    key: str
    name: str
    region: str
    # What an applicant outside the area is told.
    outside: str
    # Outward code ("L3") -> the local authority it is in ("Liverpool").
    districts: dict[str, str]

    @property
    def local_authorities(self) -> list[str]:
        return list(dict.fromkeys(self.districts.values()))

    def local_authority_of(self, postcode: str) -> str | None:
        """The local authority of a postcode in the area, None outside it.
        The outward code is all but the last three characters (the inward code)."""
        compact = normalise_postcode(postcode).replace(" ", "")
        return self.districts.get(compact[:-3]) if len(compact) >= 5 else None


@lru_cache
def load(key: str) -> Area:
    """The area named by the `programme_area` setting."""
    if not AREA_KEY.match(key) or not (AREAS_DIR / f"{key}.toml").is_file():
        known = ", ".join(sorted(p.stem for p in AREAS_DIR.glob("*.toml")))
        raise ValueError(f"No programme area {key!r}: PROGRAMME_AREA must be one of {known}.")
    data = tomllib.loads((AREAS_DIR / f"{key}.toml").read_text())
    districts = {code.upper(): authority for authority, codes in data["districts"].items() for code in codes}
    return Area(
        key=key,
        name=data["name"],
        region=data["region"],
        outside=" ".join(data["outside"].split()),
        districts=districts,
    )
