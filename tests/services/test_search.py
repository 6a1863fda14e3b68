import pytest

from app.services.search import terms


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        ("Hospitals", ["hospital"]),
        ("therapies", ["therap"]),
        ("glass", ["glass"]),
        ("virus", ["virus"]),
        ("hosp disch!", ["hosp", "disch"]),
        ("  ", []),
        ('"quoted" OR * -x', ["quoted", "or", "x"]),
    ],
)
def test_terms_are_words_with_plurals_folded(typed: str, searched: list[str]) -> None:
    assert terms(typed) == searched
