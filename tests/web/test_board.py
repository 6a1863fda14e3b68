"""The adoption board: columns, cards, filters, and moves by form (with and
without htmx), refused moves, stale cards, and who may see and move what."""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from app.models import Adoption
from app.services import adoptions, pipeline
from tests.factories import World, admin_principal, make_adoption, make_innovation, make_org

HTMX = {"HX-Request": "true"}
ACTIVE = ["Identified", "Needs assessment", "Co-design", "Real-world testing", "Adopted", "Sustained"]


def card_html(page: str, adoption: Adoption) -> str:
    """The card of `adoption` in a page or fragment, up to its closing </li>."""
    start = page.index(f'id="card-{adoption.id}"')
    return page[
        start : page.index("</li>", page.index("</form>", start) if "</form>" in page[start:] else start)
    ]


def move(
    client: TestClient, token: str, adoption: Adoption, to_stage: str, *, htmx: bool = False, **extra: Any
) -> Any:
    data = {
        "csrf_token": token,
        "version": str(adoption.version),
        "to_stage": to_stage,
        "return_to": "/board",
    }
    data.update({key: str(value) for key, value in extra.items()})
    return client.post(
        f"/adoptions/{adoption.id}/move", data=data, headers=HTMX if htmx else {}, follow_redirects=False
    )


def ready(session: Session, world: World) -> Adoption:
    """The world's adoption with its lead named, so its next gate is met."""
    adoption = world.adoption
    adoption.lead_name, adoption.lead_email = "Dr Asha Patel", "asha.patel@nhs.net"
    session.add(adoption)
    session.flush()
    return adoption


# --- the page -------------------------------------------------------------------


def test_the_board_has_a_column_per_active_stage_and_folds_the_others_away(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    ready(session, world)
    sign_in("trust")
    page = client.get("/board")
    assert page.status_code == 200
    assert page.headers["vary"] == "HX-Request"
    assert page.text.count("<h1") == 1
    for name in ACTIVE:
        assert re.search(rf'<h2 class="app-board__heading" id="column-\w+">\s*{name} <span', page.text), name
    assert '<details class="nhsuk-details app-board__offline"' in page.text
    assert "Paused (" in page.text and "Not progressed (" in page.text
    # drag and drop is loaded on this page only, from this origin
    assert '<script src="/static/vendor/Sortable.min.js" defer></script>' in page.text
    assert '<script src="/static/board.js" defer></script>' in page.text
    # the card: innovation, adopting organisation, lead, days in stage
    card = card_html(page.text, world.adoption)
    assert "Heat-based sharps destruction" in card
    assert "Liverpool University Hospitals" in card
    assert "Dr Asha Patel" in card
    assert "Less than 1 day" in card
    assert f'href="/adoptions/{world.adoption.id}"' in card
    assert 'id="count-identified" class="app-board__count">1<' in page.text
    assert 'role="status" aria-live="polite"' in page.text


def test_the_card_counts_days_in_its_stage(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = world.adoption
    adoption.stage_entered_at = pipeline.utcnow().replace(microsecond=0) - pipeline_days(12)
    session.add(adoption)
    session.flush()
    sign_in("trust")
    assert "12 days" in card_html(client.get("/board").text, adoption)


def pipeline_days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n, hours=1)


def test_an_htmx_request_gets_only_the_board_and_history_restore_the_page(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    sign_in("trust")
    fragment = client.get("/board", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.headers["vary"] == "HX-Request"
    assert fragment.text.lstrip().startswith('<div id="board"')
    assert "<html" not in fragment.text and "<h1" not in fragment.text
    restore = client.get("/board", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_the_board_asks_to_sign_in_first(client: TestClient) -> None:
    answer = client.get("/board", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/board"


def test_the_filters_narrow_the_cards_and_stay_in_the_address(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    app = make_innovation(session, world.supplier, name="Virtual ward app", categories=["digital"])
    london = make_adoption(session, app, world.other_trust)
    sign_in("admin")
    every = client.get("/board").text
    assert f"card-{world.adoption.id}" in every and f"card-{london.id}" in every

    cases = {
        "region=london": london,
        "region=north_west": world.adoption,
        f"organisation={world.other_trust.id}": london,
        "category=digital": london,
        "category=medical_device": world.adoption,
        f"innovation={world.innovation.id}": world.adoption,
    }
    for query, only in cases.items():
        page = client.get(f"/board?{query}").text
        others = {world.adoption.id, london.id} - {only.id}
        assert f'id="card-{only.id}"' in page, query
        assert all(f'id="card-{other}"' not in page for other in others), query
        assert "1 adoption match the filters" in page
        # the form keeps the choice (one named by id as a ticked box), and
        # each card's form returns to the same address
        key, value = query.split("=")
        if key in ("organisation", "innovation"):
            assert re.search(rf'name="{key}" type="checkbox" value="{value}" checked', page), query
        else:
            assert re.search(rf'<option value="{value}"\s*selected>', page), query
        assert f'name="return_to" value="/board?{key}={value}"' in page
    by_organisation = client.get(f"/board?organisation={world.other_trust.id}").text
    assert "Only Guy&#39;s and St Thomas&#39;" in by_organisation
    assert "Only Heat-based sharps destruction" in client.get(f"/board?innovation={world.innovation.id}").text

    nothing = client.get("/board?region=midlands").text
    assert "card-" not in nothing
    assert "None at this stage." in nothing
    # a value the filter does not know is ignored, not an error
    assert client.get("/board?region=atlantis&organisation=nonsense").status_code == 200


def test_the_name_searches_narrow_the_cards_and_list_no_names(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    app = make_innovation(session, world.supplier, name="Virtual ward app")
    london = make_adoption(session, app, world.other_trust)
    sign_in("admin")
    cases = {
        "organisation_name=guy%27s": london,
        "organisation_name=LIVERPOOL+university": world.adoption,
        "innovation_name=ward": london,
        "innovation_name=sharps&organisation_name=liverpool": world.adoption,
    }
    for query, only in cases.items():
        page = client.get(f"/board?{query}").text
        other = ({world.adoption.id, london.id} - {only.id}).pop()
        assert f'id="card-{only.id}"' in page and f'id="card-{other}"' not in page, query
        assert "1 adoption match the filters" in page, query
    # the search keeps its words, trimmed, and the cards' forms return to the same address
    page = client.get("/board?innovation_name=+virtual++ward+").text
    assert re.search(r'name="innovation_name" type="search" spellcheck="false" value="virtual ward"', page)
    assert 'name="return_to" value="/board?innovation_name=virtual+ward"' in page
    # LIKE's wildcards are only characters; a name nobody has matches nothing
    for words in ("%25", "_", "nowhere"):
        page = client.get(f"/board?organisation_name={words}").text
        assert "card-" not in page, words
    # no list of every organisation and innovation: a search field each, labelled, with a hint
    every = client.get("/board").text
    assert '<option value="' + str(world.other_trust.id) not in every
    assert '<label class="nhsuk-label" for="organisation_name">' in every
    assert '<label class="nhsuk-label" for="innovation_name">' in every
    assert 'aria-describedby="organisation_name-hint"' in every


def test_filters_through_htmx_answer_the_board_fragment(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    sign_in("facilitator")
    fragment = client.get("/board?region=london", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="board"')
    assert f"card-{world.adoption.id}" not in fragment.text


def test_each_person_sees_only_the_adoptions_they_may_see(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    sign_in("other_trust")
    page = client.get("/board")
    assert page.status_code == 200
    assert f"card-{world.adoption.id}" not in page.text
    assert "Heat-based sharps destruction" not in page.text  # not even among the filters


def test_the_supplier_sees_the_card_without_a_form_and_may_not_move_it(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    token = sign_in("supplier")
    card = card_html(client.get("/board").text, adoption)
    assert "Heat-based sharps destruction" in card
    assert "<form" not in card and "app-card--movable" not in card
    assert move(client, token, adoption, "needs_assessment").status_code == 403
    assert move(client, token, adoption, "needs_assessment", htmx=True).status_code == 403
    assert session.get(Adoption, adoption.id).stage == "identified"  # type: ignore[union-attr]


def test_a_facilitator_of_another_region_sees_the_card_but_no_form(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    sign_in("other_facilitator")
    card = card_html(client.get("/board").text, world.adoption)
    assert "<form" not in card


def test_the_move_form_offers_the_next_stage_first_and_the_rules_choices(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = make_adoption(session, world.innovation, world.other_trust, stage="co_design")
    sign_in("trust")
    options = re.findall(
        r'<option value="(\w+)" data-needs', card_html(client.get("/board").text, world.adoption)
    )
    assert options == ["needs_assessment", "paused", "not_progressed"]

    client.cookies.clear()
    sign_in("admin")
    card = card_html(client.get("/board").text, adoption)
    options = re.findall(r'<option value="(\w+)" data-needs="(\w*)"', card)
    assert options[0] == ("real_world_testing", "")
    assert ("adopted", "reason") in options  # a skip, with override
    assert ("identified", "reason") in options and ("needs_assessment", "reason") in options
    assert options[-2:] == [("paused", "reason"), ("not_progressed", "reason_code")]
    assert 'name="override" type="checkbox" value="true"' in card
    assert 'name="reason_code"' in card
    # the controls are labelled, naming the adoption for screen readers
    assert f'<label class="nhsuk-label" for="m-{adoption.id}-to">' in card
    assert (
        'Move to<span class="nhsuk-u-visually-hidden"> (Heat-based sharps destruction at '
        "Guy&#39;s and St Thomas&#39;)</span>" in card
    )


# --- moving ----------------------------------------------------------------------


def test_a_move_without_javascript_redirects_back_to_the_board(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    token = sign_in("trust")
    data = {
        "csrf_token": token,
        "version": str(adoption.version),
        "to_stage": "needs_assessment",
        "return_to": "/board?region=north_west",
    }
    answer = client.post(f"/adoptions/{adoption.id}/move", data=data, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/board?region=north_west"
    assert session.get(Adoption, adoption.id).stage == "needs_assessment"  # type: ignore[union-attr]
    board = client.get(answer.headers["location"]).text
    assert 'id="count-needs_assessment" class="app-board__count">1<' in board


def test_return_to_only_goes_to_this_site(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    token = sign_in("trust")
    data = {
        "csrf_token": token,
        "version": str(adoption.version),
        "to_stage": "needs_assessment",
        "return_to": "//evil.example/",
    }
    answer = client.post(f"/adoptions/{adoption.id}/move", data=data, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/adoptions/{adoption.id}")


def test_a_move_by_htmx_answers_the_card_in_its_new_column_and_the_counts(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    token = sign_in("trust")
    answer = move(client, token, adoption, "needs_assessment", htmx=True)
    assert answer.status_code == 200, answer.text
    assert answer.headers["vary"] == "HX-Request"
    text = answer.text
    assert "<html" not in text
    # the card, added to its new column out of band (the old one is the swap's target, left empty)
    assert '<ul hx-swap-oob="beforeend:#cards-needs_assessment">' in text
    assert text.count(f'id="card-{adoption.id}"') == 1
    assert 'name="version" id="m-' in text and f'value="{adoption.version}"' in text
    # every column's count, out of band
    assert re.search(r'<span id="count-identified" class="app-board__count" hx-swap-oob="true">0<', text)
    assert re.search(
        r'<span id="count-needs_assessment" class="app-board__count" hx-swap-oob="true">1<', text
    )
    assert 'id="count-paused"' in text and 'id="count-not_progressed"' in text
    # and the announcement for screen readers
    assert '<div hx-swap-oob="innerHTML:#board-status">' in text
    assert (
        "Moved Heat-based sharps destruction at Liverpool University Hospitals "
        "from Identified to Needs assessment." in text
    )
    # the next move is offered from the new stage
    assert '<option value="co_design" data-needs="">Co-design (next stage)</option>' in text


def test_the_counts_after_a_move_keep_the_boards_filters(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    other = make_adoption(session, world.innovation, world.other_trust)  # London, identified
    token = sign_in("admin")
    data = {
        "csrf_token": token,
        "version": str(adoption.version),
        "to_stage": "needs_assessment",
        "return_to": "/board?region=north_west",
    }
    text = client.post(f"/adoptions/{adoption.id}/move", data=data, headers=HTMX).text
    assert re.search(r'id="count-identified" class="app-board__count" hx-swap-oob="true">0<', text)
    assert other.stage == "identified"


def test_a_move_to_paused_goes_to_the_folded_list(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    answer = move(client, token, world.adoption, "paused", htmx=True, reason="Ward closed for refurbishment")
    assert answer.status_code == 200, answer.text
    assert '<ul hx-swap-oob="beforeend:#cards-paused">' in answer.text
    assert re.search(r'id="count-paused" class="app-board__count" hx-swap-oob="true">1<', answer.text)
    # resuming is offered from where it paused
    assert '<option value="identified" data-needs="">Resume at Identified</option>' in answer.text


def test_a_move_the_gate_refuses_lists_the_missing_items_by_label(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    answer = move(client, token, world.adoption, "needs_assessment", htmx=True)
    assert answer.status_code == 409
    text = answer.text
    assert text.lstrip().startswith(f'<li id="card-{world.adoption.id}"')
    assert "app-card--problem" in text
    assert "It cannot move to Needs assessment until its gate record shows:" in text
    assert "<li>Named adoption lead (champion)</li>" in text
    assert (
        f'<a href="/adoptions/{world.adoption.id}#gate-needs_assessment">Fill in the gate record</a>' in text
    )
    assert '<div hx-swap-oob="innerHTML:#board-status">' in text
    assert "until its gate record shows: Named adoption lead (champion).</div>" in text  # announced
    # the form stays, with the stage they chose
    assert '<option value="needs_assessment" selected data-needs="">' in text
    assert session.get(Adoption, world.adoption.id).stage == "identified"  # type: ignore[union-attr]

    page = move(client, token, world.adoption, "needs_assessment")
    assert page.status_code == 409
    assert "<html" in page.text and "The move was not made" in page.text  # the NHS error summary
    assert "<title>Error: Adoption board" in page.text
    assert "<li>Named adoption lead (champion)</li>" in page.text
    assert "Hospitals: It cannot move to Needs assessment until its gate record shows: Named" in page.text


def test_a_skip_of_a_stage_is_refused_with_the_reason_in_words(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("trust")
    answer = move(client, token, world.adoption, "adopted", htmx=True)
    assert answer.status_code == 409
    assert "Moves go forward one stage at a time; Adopted is 4 stages on." in answer.text
    assert "`" not in answer.text


def test_a_card_someone_else_moved_first_says_where_it_is_now(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    seen_version = adoption.version
    token = sign_in("trust")
    # someone else moves it after this person loaded the board
    loaded = adoptions.get(session, admin_principal(world.exchange), adoption.id)
    adoptions.move(
        session,
        admin_principal(world.exchange),
        loaded,
        pipeline.MoveRequest(to_stage="needs_assessment"),
        None,
    )
    data = {
        "csrf_token": token,
        "version": str(seen_version),
        "to_stage": "needs_assessment",
        "return_to": "/board",
    }
    answer = client.post(f"/adoptions/{adoption.id}/move", data=data, headers=HTMX)
    assert answer.status_code == 412
    text = answer.text
    assert "Someone else changed this adoption first: it is now at Needs assessment." in text
    assert '<a href="/board">Reload the board</a>' in text
    assert "<form" not in text  # no move from a stale card
    assert "<dt>Now at</dt>" in text
    assert len(session.get(Adoption, adoption.id).gate or {}) == 0  # type: ignore[union-attr]

    page = client.post(f"/adoptions/{adoption.id}/move", data=data)
    assert page.status_code == 412
    assert "<html" in page.text and "Reload the board" in page.text
    # the page is read afresh: the card stands in its new column, with a current form
    column = page.text[page.text.index('id="cards-needs_assessment"') :]
    assert column.index(f'id="card-{adoption.id}"') < column.index("</ul>")


def test_a_move_back_needs_a_reason(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = make_adoption(session, world.innovation, world.other_trust, stage="co_design")
    token = sign_in("admin")
    answer = move(client, token, adoption, "identified", htmx=True)
    assert answer.status_code == 422
    assert "Give a reason: a move back." in answer.text
    assert f'id="m-{adoption.id}-reason-error"' in answer.text
    assert '<details class="nhsuk-details app-move__more" open>' in answer.text

    page = move(client, token, adoption, "identified")
    assert page.status_code == 422
    assert "There is a problem" not in page.text and "The move was not made" in page.text
    assert f'href="#m-{adoption.id}-reason"' in page.text

    done = move(client, token, adoption, "identified", reason="The champion left the trust")
    assert done.status_code == 303
    assert session.get(Adoption, adoption.id).stage == "identified"  # type: ignore[union-attr]


def test_not_progressed_needs_a_reason_code(
    client: TestClient, sign_in: Callable[[str], str], world: World
) -> None:
    token = sign_in("trust")
    answer = move(client, token, world.adoption, "not_progressed", htmx=True)
    assert answer.status_code == 422
    assert "Give a reason code" in answer.text
    assert move(client, token, world.adoption, "not_progressed", reason_code="no_funding").status_code == 303


def test_a_move_without_the_csrf_token_is_refused(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    sign_in("trust")
    data = {"version": str(adoption.version), "to_stage": "needs_assessment", "return_to": "/board"}
    assert client.post(f"/adoptions/{adoption.id}/move", data=data).status_code == 403
    assert client.post(f"/adoptions/{adoption.id}/move", data=data, headers=HTMX).status_code == 403
    assert session.get(Adoption, adoption.id).stage == "identified"  # type: ignore[union-attr]


def test_an_adoption_they_may_not_see_cannot_be_moved(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    adoption = ready(session, world)
    token = sign_in("other_trust")
    assert move(client, token, adoption, "needs_assessment").status_code == 404


def test_a_facilitator_may_override_with_a_reason(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    token = sign_in("facilitator")
    refused = move(client, token, world.adoption, "co_design", htmx=True, override="true")
    assert refused.status_code == 422
    answer = move(
        client, token, world.adoption, "co_design", override="true", reason="Assessed at a sister site"
    )
    assert answer.status_code == 303
    assert session.get(Adoption, world.adoption.id).stage == "co_design"  # type: ignore[union-attr]


def test_user_text_on_the_board_is_escaped(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session
) -> None:
    evil = make_innovation(session, world.supplier, name='<script>alert("inn")</script>')
    org = make_org(session, "nhs_trust", "north_west", name="<img src=x onerror=alert(1)>")
    adoption = make_adoption(session, evil, org, lead={"name": "<b>lead</b>", "email": "lead@nhs.net"})
    sign_in("admin")
    page = client.get("/board").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>lead</b>" not in page
    assert "&lt;script&gt;alert(&#34;inn&#34;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;lead&lt;/b&gt;" in page
    assert f"card-{adoption.id}" in page


# --- the service behind it -------------------------------------------------------


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    connection = session.get_bind()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", before)


def test_the_board_costs_two_queries_however_many_cards(world: World, session: Session) -> None:
    for n in range(12):
        org = make_org(session, "nhs_trust", "north_west")
        make_adoption(session, world.innovation, org, stage="co_design" if n % 2 else None)
    principal = admin_principal(world.exchange)
    pipeline.stages(session)  # the process caches the pipeline
    session.expunge_all()
    with statements(session) as seen:
        columns = adoptions.board(session, principal, adoptions.BoardFilters(category="medical_device"), 5)
    assert len(seen) == 2
    by_stage = {column.stage.key: column for column in columns}
    assert by_stage["identified"].count == 7 and len(by_stage["identified"].cards) == 5
    assert by_stage["co_design"].count == 6 and len(by_stage["co_design"].cards) == 5
    assert [c.stage.key for c in columns][-2:] == ["paused", "not_progressed"]


def test_a_column_shows_its_longest_waiting_cards_and_says_there_are_more(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session, monkeypatch: Any
) -> None:
    from app.web import board

    monkeypatch.setattr(board, "PER_STAGE", 1)
    newer = make_adoption(session, world.innovation, world.other_trust)
    token = sign_in("admin")
    page = client.get("/board").text
    assert f'id="card-{world.adoption.id}"' in page and f'id="card-{newer.id}"' not in page
    assert 'id="count-identified" class="app-board__count">2<' in page
    assert "Showing the 1 longest in this stage." in page
    assert (
        '<a href="/exports/adoptions.csv?stage=identified">download every adoption at Identified as CSV</a>'
        in page
    )
    # the link keeps the board's filters
    filtered = client.get("/board?innovation_name=sharps").text
    assert 'href="/exports/adoptions.csv?innovation_name=sharps&amp;stage=identified"' in filtered
    # a refused move of a card the page does not show still explains itself
    refused = move(client, token, newer, "needs_assessment")
    assert refused.status_code == 409
    assert re.search(rf'<a href="/adoptions/{newer.id}">\s*It cannot move to Needs assessment', refused.text)


def test_a_column_counts_up_to_a_cap_and_says_more_past_it(
    client: TestClient, sign_in: Callable[[str], str], world: World, session: Session, monkeypatch: Any
) -> None:
    for _ in range(3):
        make_adoption(session, make_innovation(session, world.supplier), world.other_trust)
    monkeypatch.setattr(adoptions, "BOARD_COUNT_CAP", 2)
    assert adoptions.board_counts(session, admin_principal(world.exchange), adoptions.BoardFilters()) == {
        "identified": 3  # the cap and one: more than the cap
    }
    sign_in("admin")
    page = client.get("/board").text
    assert (
        'id="count-identified" class="app-board__count">2+<span class="nhsuk-u-visually-hidden"> adoptions'
        in page
    )
    assert "More than 2 adoptions." in page
    assert 'id="count-needs_assessment" class="app-board__count">0<' in page
