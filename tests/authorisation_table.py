"""Who may do what: the one declared table of the authorisation matrix
(tests/test_authorisation_matrix.py), written from DOMAIN.md and API.md.

Every API operation under /api/v1 and every page and page action has a row;
a route without one fails the test. A row holds one or more calls, each
against a named record of the matrix's world (`build_world` in
tests/test_authorisation_matrix.py), and what each kind of principal gets:

- OK: allowed (2xx, or a 3xx that is not the way to sign in);
- UNAUTHENTICATED (401), FORBIDDEN (403), HIDDEN (404: a record one may not
  see, never a hint that it exists);
- REFUSED: allowed, but the request is refused on its merits (409, 412, 422);
- SIGN_IN: a page that sends a browser with no (live) session to sign in.

"@name" in a path, query or body names a record of the world ("@version:name"
its version, as a form carries it).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.factories import APPLICATION as JOIN

OK, UNAUTHENTICATED, FORBIDDEN, HIDDEN, REFUSED, SIGN_IN = "ok", "401", "403", "404", "refused", "sign-in"

# The kinds of principal. Every API call is made with a key of each; the
# first three are derived (see `api_expectations`), the others declared.
API_DERIVED = ("anonymous", "revoked", "read_only")  # read_only: a read-only key of the trust
ACTORS = (
    "other_trust",  # another organisation's member: an NHS trust in London
    "supplier",  # the innovation's supplier
    "trust",  # the adopting organisation, which also owns the challenge (north west)
    "facilitator",  # of the north west's Health Innovation Network: the adopter's region
    "other_facilitator",  # of London's: another region
    "admin",  # the exchange's own team
)
API_PRINCIPALS = API_DERIVED + ACTORS
# On the pages, people sign in; `trust_admin` is an admin-role user of the
# trust, who administers just its own keys and webhooks.
PAGE_ACTORS = (*ACTORS, "trust_admin")
# A browser with no session, and one whose user an admin has since deactivated.
PAGE_DERIVED = ("anonymous", "deactivated")
PAGE_PRINCIPALS = (*PAGE_DERIVED, *PAGE_ACTORS)

STAFF = ("facilitator", "other_facilitator", "admin")
TRUST = ("trust", "trust_admin")  # on the pages the trust's admin user is first the trust's member
EVERYONE = (*PAGE_ACTORS,)


def rule(
    ok: Iterable[str] = (),
    *,
    hidden: Iterable[str] = (),
    refused: Iterable[str] = (),
    otherwise: str = FORBIDDEN,
) -> dict[str, str]:
    """Each actor's outcome: those named get theirs, the rest `otherwise`."""
    outcome = dict.fromkeys(PAGE_ACTORS, otherwise)
    for names, value in ((ok, OK), (hidden, HIDDEN), (refused, REFUSED)):
        for name in names:
            outcome[name] = value
    return outcome


def everyone(outcome: str = OK) -> dict[str, str]:
    return dict.fromkeys(PAGE_ACTORS, outcome)


@dataclass(frozen=True)
class Call:
    target: str  # what the call is against, in words
    expect: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)  # path parameter -> "@record"
    json: Any = None
    form: dict[str, Any] | None = None
    query: str = ""


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    calls: tuple[Call, ...]
    # Public routes answer every caller the same; no derived 401s.
    public: bool = False


def api_expectations(row: Row, call: Call) -> dict[str, str]:
    """The declared actors' outcomes, and the derived ones: no key or a
    revoked key is 401; a read-only key of the trust reads as the trust and
    is 403 for any write."""
    if row.public:
        return {who: call.expect["trust"] for who in API_PRINCIPALS}
    reads = row.method == "GET"
    return {
        "anonymous": UNAUTHENTICATED,
        "revoked": UNAUTHENTICATED,
        "read_only": call.expect["trust"] if reads else FORBIDDEN,
        **{who: call.expect[who] for who in ACTORS},
    }


def page_expectations(row: Row, call: Call) -> dict[str, str]:
    if row.public:
        return {who: call.expect["trust"] for who in PAGE_PRINCIPALS}
    return {**dict.fromkeys(PAGE_DERIVED, SIGN_IN), **call.expect}


def one(target: str, expect: dict[str, str], **values: Any) -> tuple[Call, ...]:
    return (Call(target, expect, **values),)


# --- the JSON API ---------------------------------------------------------------

ADOPTION_SEEN = rule(["trust", "supplier", *STAFF], hidden=["other_trust"])
# Changed and moved by its adopting organisation, its region's facilitators and
# admins; the supplier and other regions' facilitators see it but get 403.
ADOPTION_CHANGED = rule(["trust", "facilitator", "admin"], hidden=["other_trust"])
DRAFT_INNOVATION_SEEN = rule(["supplier", *STAFF], otherwise=HIDDEN)
DRAFT_CHALLENGE_SEEN = rule([*TRUST, *STAFF], otherwise=HIDDEN)
INNOVATION_CHANGED = rule(["supplier", *STAFF])
CHALLENGE_CHANGED = rule([*TRUST, *STAFF])
OWN_ORG = rule(["trust", "admin"], otherwise=HIDDEN)  # another organisation's key or webhook
NOTE = {"text": "Spoke to them: a clinical lead is interested."}

API_ROWS: tuple[Row, ...] = (
    Row("GET", "/api/v1/organisations", one("any", everyone())),
    Row(
        "POST",
        "/api/v1/organisations",
        one("new", rule(["admin"]), json={"name": "Wirral Community Trust", "kind": "nhs_trust"}),
    ),
    Row(
        "GET",
        "/api/v1/organisations/{organisation_id}",
        one("the trust", everyone(), params={"organisation_id": "@trust"}),
    ),
    Row(
        "PATCH",
        "/api/v1/organisations/{organisation_id}",
        one(
            "the trust",
            rule(["trust", "admin"]),
            params={"organisation_id": "@trust"},
            json={"name": "Renamed"},
        ),
    ),
    Row("GET", "/api/v1/innovations", one("any", everyone())),
    Row(
        "POST",
        "/api/v1/innovations",
        one(
            "for the supplier",
            rule(["supplier", *STAFF]),
            json={"name": "Ward sensor", "summary": "Counts sharps.", "supplier_id": "@supplier"},
        ),
    ),
    Row(
        "GET",
        "/api/v1/innovations/{innovation_id}",
        (
            Call("published", everyone(), params={"innovation_id": "@innovation"}),
            Call("draft", DRAFT_INNOVATION_SEEN, params={"innovation_id": "@draft_innovation"}),
        ),
    ),
    Row(
        "PATCH",
        "/api/v1/innovations/{innovation_id}",
        (
            Call(
                "published",
                INNOVATION_CHANGED,
                params={"innovation_id": "@innovation"},
                json={"summary": "New."},
            ),
            Call(
                "draft",
                rule(["supplier", *STAFF], otherwise=HIDDEN),
                params={"innovation_id": "@draft_innovation"},
                json={"summary": "New."},
            ),
        ),
    ),
    Row(
        "DELETE",
        "/api/v1/innovations/{innovation_id}",
        (
            Call("published", INNOVATION_CHANGED, params={"innovation_id": "@innovation"}),
            Call(
                "draft",
                rule(["supplier", *STAFF], otherwise=HIDDEN),
                params={"innovation_id": "@draft_innovation"},
            ),
        ),
    ),
    Row(
        "GET",
        "/api/v1/innovations/{innovation_id}/spread",
        (
            Call("published", everyone(), params={"innovation_id": "@innovation"}),
            Call("draft", DRAFT_INNOVATION_SEEN, params={"innovation_id": "@draft_innovation"}),
        ),
    ),
    Row(
        "GET",
        "/api/v1/innovations/{innovation_id}/matches",
        (
            Call("published", everyone(), params={"innovation_id": "@innovation"}),
            Call("draft", DRAFT_INNOVATION_SEEN, params={"innovation_id": "@draft_innovation"}),
        ),
    ),
    Row("GET", "/api/v1/challenges", one("any", everyone())),
    Row(
        "POST",
        "/api/v1/challenges",
        one(
            "for the trust",
            rule([*TRUST, *STAFF]),
            json={"title": "Falls at night", "problem_statement": "Too many.", "owner_id": "@trust"},
        ),
    ),
    Row(
        "GET",
        "/api/v1/challenges/{challenge_id}",
        (
            Call("open", everyone(), params={"challenge_id": "@challenge"}),
            Call("draft", DRAFT_CHALLENGE_SEEN, params={"challenge_id": "@draft_challenge"}),
        ),
    ),
    Row(
        "PATCH",
        "/api/v1/challenges/{challenge_id}",
        (
            Call("open", CHALLENGE_CHANGED, params={"challenge_id": "@challenge"}, json={"title": "Renamed"}),
            Call(
                "draft",
                rule([*TRUST, *STAFF], otherwise=HIDDEN),
                params={"challenge_id": "@draft_challenge"},
                json={"title": "Renamed"},
            ),
        ),
    ),
    Row(
        "DELETE",
        "/api/v1/challenges/{challenge_id}",
        (
            Call("open", CHALLENGE_CHANGED, params={"challenge_id": "@challenge"}),
            Call(
                "draft", rule([*TRUST, *STAFF], otherwise=HIDDEN), params={"challenge_id": "@draft_challenge"}
            ),
        ),
    ),
    Row(
        "GET",
        "/api/v1/challenges/{challenge_id}/matches",
        (
            Call("open", everyone(), params={"challenge_id": "@challenge"}),
            Call("draft", DRAFT_CHALLENGE_SEEN, params={"challenge_id": "@draft_challenge"}),
        ),
    ),
    # Everyone who sees the challenge may list its responses: all of them for
    # its owner and the exchange's staff, a supplier's own for a supplier.
    Row(
        "GET",
        "/api/v1/challenges/{challenge_id}/responses",
        (
            Call("open", everyone(), params={"challenge_id": "@challenge"}),
            Call("draft", DRAFT_CHALLENGE_SEEN, params={"challenge_id": "@draft_challenge"}),
        ),
    ),
    Row(
        "POST",
        "/api/v1/challenges/{challenge_id}/responses",
        (
            Call(
                "London's open challenge, with the supplier's innovation",
                rule(["supplier", *STAFF]),
                params={"challenge_id": "@london_challenge"},
                json={"innovation_id": "@innovation", "pitch": "It fits."},
            ),
            # The trust sees its draft but may not put the supplier's innovation
            # forward; the staff may, but a draft takes no responses.
            Call(
                "a draft challenge",
                rule(refused=STAFF, hidden=["other_trust", "supplier"]),
                params={"challenge_id": "@draft_challenge"},
                json={"innovation_id": "@second_innovation", "pitch": "It fits."},
            ),
        ),
    ),
    Row(
        "GET",
        "/api/v1/responses/{response_id}",
        one(
            "to the trust's challenge",
            rule(["trust", "supplier", *STAFF], hidden=["other_trust"]),
            params={"response_id": "@response"},
        ),
    ),
    Row(
        "PATCH",
        "/api/v1/responses/{response_id}",
        (
            # The challenge's owner and the exchange's staff shortlist and decline.
            Call(
                "shortlist",
                rule(["trust", *STAFF], hidden=["other_trust"]),
                params={"response_id": "@response"},
                json={"status": "shortlisted"},
            ),
            # Selecting opens an adoption: the owner, its region's facilitators, admins.
            Call(
                "select",
                rule(["trust", "facilitator", "admin"], hidden=["other_trust"]),
                params={"response_id": "@shortlisted_response"},
                json={"status": "selected"},
            ),
            # The supplier withdraws its own; so may the staff.
            Call(
                "withdraw",
                rule(["supplier", *STAFF], hidden=["other_trust"]),
                params={"response_id": "@response"},
                json={"status": "withdrawn", "reason": "Not ready."},
            ),
        ),
    ),
    Row("GET", "/api/v1/stages", one("any", everyone())),
    Row("GET", "/api/v1/adoptions", one("any (each sees its own)", everyone())),
    Row(
        "POST",
        "/api/v1/adoptions",
        (
            Call(
                "at the trust",
                rule(["trust", "facilitator", "admin"]),
                json={"innovation_id": "@second_innovation", "organisation_id": "@trust"},
            ),
            Call(
                "of a draft innovation",
                # Those who may not see a draft are told it does not exist (422, not 403).
                rule(["facilitator", "admin"], refused=["trust", "other_trust"]),
                json={"innovation_id": "@draft_innovation", "organisation_id": "@trust"},
            ),
        ),
    ),
    Row(
        "GET",
        "/api/v1/adoptions/{adoption_id}",
        one("at the trust", ADOPTION_SEEN, params={"adoption_id": "@adoption"}),
    ),
    Row(
        "PATCH",
        "/api/v1/adoptions/{adoption_id}",
        one(
            "at the trust",
            ADOPTION_CHANGED,
            params={"adoption_id": "@adoption"},
            json={"notes": "Ward 3 first."},
        ),
    ),
    Row(
        "POST",
        "/api/v1/adoptions/{adoption_id}/transitions",
        (
            Call(
                "back a stage",
                ADOPTION_CHANGED,
                params={"adoption_id": "@adoption"},
                json={"to_stage": "identified", "reason": "Champion left."},
            ),
            # Only a facilitator (of the region) or an admin may override a gate.
            Call(
                "over a gate, with an override",
                rule(["facilitator", "admin"], hidden=["other_trust"]),
                params={"adoption_id": "@adoption"},
                json={"to_stage": "co_design", "override": True, "reason": "Assessed on paper."},
            ),
            # Forward past an unmet gate without an override: the rules refuse it.
            Call(
                "over a gate",
                rule(refused=["trust", "facilitator", "admin"], hidden=["other_trust"]),
                params={"adoption_id": "@adoption"},
                json={"to_stage": "co_design"},
            ),
        ),
    ),
    Row(
        "GET",
        "/api/v1/adoptions/{adoption_id}/transitions",
        one("at the trust", ADOPTION_SEEN, params={"adoption_id": "@adoption"}),
    ),
    Row(
        "GET",
        "/api/v1/adoptions/{adoption_id}/transitions/{transition_id}",
        one(
            "at the trust", ADOPTION_SEEN, params={"adoption_id": "@adoption", "transition_id": "@transition"}
        ),
    ),
    Row("GET", "/api/v1/metrics/funnel", one("any", everyone())),
    Row("GET", "/api/v1/events", one("any (each sees what it may)", everyone())),
    Row("GET", "/api/v1/exports/innovations.csv", one("any", everyone())),
    Row("GET", "/api/v1/exports/challenges.csv", one("any", everyone())),
    Row("GET", "/api/v1/exports/adoptions.csv", one("any (each sees its own)", everyone())),
    Row(
        "POST",
        "/api/v1/import",
        (
            Call(
                "an innovation of the supplier",
                rule(["supplier", *STAFF], refused=["trust", "other_trust"]),
                json={
                    "innovations": [
                        {
                            "external_ref": "inn-1",
                            "name": "Imported",
                            "summary": "S.",
                            "supplier_id": "@supplier",
                        }
                    ]
                },
            ),
        ),
    ),
    Row(
        "GET",
        "/api/v1/api-keys",
        (
            Call("its own organisation's", everyone()),
            Call("the trust's", rule(["trust", "admin"]), query="?organisation_id=@trust"),
        ),
    ),
    Row(
        "POST",
        "/api/v1/api-keys",
        (
            Call(
                "for the trust",
                rule(["trust", "admin"]),
                json={"organisation_id": "@trust", "name": "Ward system", "scopes": ["read"]},
            ),
            # Only an admin (or the command line) issues a key with the `admin` scope.
            Call(
                "with the admin scope",
                rule(["admin"]),
                json={"organisation_id": "@trust", "name": "Root", "scopes": ["read", "admin"]},
            ),
        ),
    ),
    Row(
        "GET",
        "/api/v1/api-keys/{api_key_id}",
        one("the trust's", OWN_ORG, params={"api_key_id": "@trust_spare_key"}),
    ),
    Row(
        "DELETE",
        "/api/v1/api-keys/{api_key_id}",
        one("the trust's", OWN_ORG, params={"api_key_id": "@trust_spare_key"}),
    ),
    Row("GET", "/api/v1/webhooks", one("its own organisation's", everyone())),
    Row("POST", "/api/v1/webhooks", one("for itself", everyone(), json={"url": "http://127.0.0.1:9/hooks"})),
    Row(
        "GET", "/api/v1/webhooks/{webhook_id}", one("the trust's", OWN_ORG, params={"webhook_id": "@webhook"})
    ),
    Row(
        "PATCH",
        "/api/v1/webhooks/{webhook_id}",
        one("the trust's", OWN_ORG, params={"webhook_id": "@webhook"}, json={"active": False}),
    ),
    Row(
        "DELETE",
        "/api/v1/webhooks/{webhook_id}",
        one("the trust's", OWN_ORG, params={"webhook_id": "@webhook"}),
    ),
    Row(
        "GET",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        one("the trust's", OWN_ORG, params={"webhook_id": "@webhook"}),
    ),
    Row(
        "POST",
        "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        one("the trust's", OWN_ORG, params={"webhook_id": "@webhook", "delivery_id": "@delivery"}),
    ),
    # Joining: a business applies and follows its application without a key.
    Row("POST", "/api/v1/applications", one("anyone", everyone(), json=JOIN), public=True),
    Row(
        "POST",
        "/api/v1/applications/status",
        one(
            "anyone with the reference",
            everyone(),
            json={"reference": "@reference", "email": "@applicant_email"},
        ),
        public=True,
    ),
    Row(
        "POST",
        "/api/v1/applications/replies",
        one(
            "anyone with the reference",
            everyone(),
            json={"reference": "@asked_reference", "email": "@applicant_email", "text": "Ward 3, Sefton."},
        ),
        public=True,
    ),
    # The exchange team (facilitators and admins) reviews applications.
    Row("GET", "/api/v1/applications", one("any", rule(STAFF))),
    Row(
        "GET",
        "/api/v1/applications/{application_id}",
        one("submitted", rule(STAFF), params={"application_id": "@application"}),
    ),
    Row(
        "PATCH",
        "/api/v1/applications/{application_id}",
        one(
            "submitted", rule(STAFF), params={"application_id": "@application"}, json={"status": "in_review"}
        ),
    ),
    Row(
        "GET",
        "/api/v1/applications/{application_id}/notes",
        one("submitted", rule(STAFF), params={"application_id": "@application"}),
    ),
    Row(
        "POST",
        "/api/v1/applications/{application_id}/notes",
        one("submitted", rule(STAFF), params={"application_id": "@application"}, json=NOTE),
    ),
    Row(
        "POST",
        "/api/v1/applications/{application_id}/acceptance",
        one(
            "submitted", rule(STAFF), params={"application_id": "@application"}, json={"message": "Welcome."}
        ),
    ),
    Row(
        "POST",
        "/api/v1/applications/{application_id}/password-link",
        (
            Call("accepted", rule(STAFF), params={"application_id": "@accepted_application"}),
            # Only an accepted application's user gets a link.
            Call("submitted", rule(refused=STAFF), params={"application_id": "@application"}),
        ),
    ),
)


# --- the pages ------------------------------------------------------------------
# Forms carry the `version` of the record they were opened at ("@version:...").

ADOPTION_PAGE_SEEN = rule([*TRUST, "supplier", *STAFF], hidden=["other_trust"])
ADOPTION_PAGE_CHANGED = rule([*TRUST, "facilitator", "admin"], hidden=["other_trust"])
KEY_ADMINS = rule(["trust_admin", "admin"])  # an organisation's admins manage its keys and webhooks
TEAM = rule(STAFF)
ADOPTION_VERSION = "@version:adoption"
ORGANISATION = {"name": "Wirral Community Trust", "kind": "nhs_trust", "region": "north_west"}
INNOVATION_FORM = {
    "name": "Ward sensor",
    "summary": "Counts sharps.",
    "supplier_id": "@supplier",
    "status": "draft",
    "maturity": "discovery",
}
CHALLENGE_FORM = {
    "title": "Falls at night",
    "problem_statement": "Too many.",
    "owner_id": "@trust",
    "status": "open",
}

ADMIN_ONLY = rule(["admin"])
ADDERS = rule(["supplier", *STAFF])  # who adds innovations
POSTERS = rule(["trust", "trust_admin", "other_trust", *STAFF])  # who posts challenges

# Every page, signed in or not.
PAGE_LISTS: tuple[Row, ...] = (
    Row("GET", "/sign-in", one("anyone", everyone()), public=True),
    Row("GET", "/docs", one("anyone", everyone()), public=True),
    Row("GET", "/accessibility", one("anyone", everyone()), public=True),
    Row("GET", "/privacy", one("anyone", everyone()), public=True),
    Row("GET", "/join", one("anyone", everyone()), public=True),
    Row("GET", "/join/apply", one("anyone", everyone()), public=True),
    Row("GET", "/join/status", one("anyone", everyone()), public=True),
    Row("GET", "/", one("home", everyone())),
    Row("GET", "/innovations", one("each sees what it may", everyone())),
    Row("GET", "/challenges", one("each sees what it may", everyone())),
    Row("GET", "/board", one("each sees its own", everyone())),
    Row("GET", "/analytics", one("spread counts", everyone())),
    Row("GET", "/exports/innovations.csv", one("each sees what it may", everyone())),
    Row("GET", "/exports/challenges.csv", one("each sees what it may", everyone())),
    Row("GET", "/exports/adoptions.csv", one("each sees its own", everyone())),
    Row("GET", "/innovations/new", one("the form", ADDERS)),
    Row("GET", "/challenges/new", one("the form", POSTERS)),
    Row("GET", "/api-keys", one("its own organisation's", KEY_ADMINS)),
    Row("GET", "/webhooks", one("its own organisation's", KEY_ADMINS)),
    Row("GET", "/applications", one("the queue", TEAM)),
    Row("GET", "/admin/organisations", one("all", ADMIN_ONLY)),
    Row("GET", "/admin/organisations/new", one("the form", ADMIN_ONLY)),
    Row("GET", "/admin/users", one("all", ADMIN_ONLY)),
    Row("GET", "/admin/users/new", one("the form", ADMIN_ONLY)),
    Row("GET", "/admin/audit", one("who changed what", ADMIN_ONLY)),
    # Prometheus scrapes with the metrics token or from the machine itself;
    # no one reaches it with a session or from elsewhere.
    Row("GET", "/metrics", one("from another address", everyone(FORBIDDEN)), public=True),
)

PAGE_ROWS: tuple[Row, ...] = (
    *PAGE_LISTS,
    Row(
        "POST",
        "/sign-in",
        one("anyone", everyone(REFUSED), form={"email": "trust@example.nhs.uk", "password": "wrong"}),
        public=True,
    ),
    Row("POST", "/sign-out", one("anyone", everyone()), public=True),
    Row("POST", "/admin/organisations/new", one("new", rule(["admin"]), form=ORGANISATION)),
    Row(
        "GET",
        "/admin/organisations/{organisation_id}/edit",
        one("the trust", rule(["admin"]), params={"organisation_id": "@trust"}),
    ),
    Row(
        "POST",
        "/admin/organisations/{organisation_id}/edit",
        one(
            "the trust",
            rule(["admin"]),
            params={"organisation_id": "@trust"},
            form={**ORGANISATION, "name": "Renamed", "version": "@version:trust"},
        ),
    ),
    Row(
        "POST",
        "/admin/users/new",
        one(
            "new",
            rule(["admin"]),
            form={
                "name": "Ann Other",
                "email": "ann@example.org",
                "organisation_id": "@trust",
                "role": "member",
                "password": "correct horse battery",
            },
        ),
    ),
    Row(
        "POST",
        "/admin/users/{user_id}/deactivate",
        one(
            "a trust member",
            rule(["admin"]),
            params={"user_id": "@trust_user"},
            form={"version": "@version:trust_user"},
        ),
    ),
    Row(
        "POST",
        "/admin/users/{user_id}/reactivate",
        one(
            "a trust member",
            rule(["admin"]),
            params={"user_id": "@trust_user"},
            form={"version": "@version:trust_user"},
        ),
    ),
    Row(
        "POST",
        "/api-keys",
        one("for its own organisation", KEY_ADMINS, form={"name": "Ward system", "scopes": ["read"]}),
    ),
    Row(
        "POST",
        "/api-keys/{api_key_id}/revoke",
        one(
            "the trust's",
            KEY_ADMINS,
            params={"api_key_id": "@trust_spare_key"},
            form={"version": "@version:trust_spare_key"},
        ),
    ),
    Row(
        "POST",
        "/webhooks",
        one("for its own organisation", KEY_ADMINS, form={"url": "http://127.0.0.1:9/hooks"}),
    ),
    Row(
        "POST",
        "/webhooks/{webhook_id}/delete",
        one(
            "the trust's",
            KEY_ADMINS,
            params={"webhook_id": "@webhook"},
            form={"version": "@version:webhook"},
        ),
    ),
    Row(
        "POST",
        "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        one(
            "the trust's",
            KEY_ADMINS,
            params={"webhook_id": "@webhook", "delivery_id": "@delivery"},
            form={},
        ),
    ),
    # On the pages a supplier adds innovations for itself whatever the form says.
    Row("POST", "/innovations/new", one("for the supplier", ADDERS, form=INNOVATION_FORM)),
    Row(
        "GET",
        "/innovations/{innovation_id}",
        (
            Call("published", everyone(), params={"innovation_id": "@innovation"}),
            Call("draft", DRAFT_INNOVATION_SEEN, params={"innovation_id": "@draft_innovation"}),
        ),
    ),
    Row(
        "GET",
        "/innovations/{innovation_id}/edit",
        (
            Call("published", INNOVATION_CHANGED, params={"innovation_id": "@innovation"}),
            Call(
                "draft",
                rule(["supplier", *STAFF], otherwise=HIDDEN),
                params={"innovation_id": "@draft_innovation"},
            ),
        ),
    ),
    Row(
        "POST",
        "/innovations/{innovation_id}/edit",
        one(
            "published",
            INNOVATION_CHANGED,
            params={"innovation_id": "@innovation"},
            form={**INNOVATION_FORM, "status": "published", "version": "@version:innovation"},
        ),
    ),
    # An NHS or care organisation posts for itself whatever the form says
    # (so London's trust posts its own); suppliers post none.
    Row(
        "POST",
        "/challenges/new",
        one("for the trust", POSTERS, form=CHALLENGE_FORM),
    ),
    Row(
        "GET",
        "/challenges/{challenge_id}",
        (
            Call("open", everyone(), params={"challenge_id": "@challenge"}),
            Call("draft", DRAFT_CHALLENGE_SEEN, params={"challenge_id": "@draft_challenge"}),
        ),
    ),
    Row(
        "GET",
        "/challenges/{challenge_id}/edit",
        (
            Call("open", CHALLENGE_CHANGED, params={"challenge_id": "@challenge"}),
            Call(
                "draft", rule([*TRUST, *STAFF], otherwise=HIDDEN), params={"challenge_id": "@draft_challenge"}
            ),
        ),
    ),
    Row(
        "POST",
        "/challenges/{challenge_id}/edit",
        one(
            "open",
            CHALLENGE_CHANGED,
            params={"challenge_id": "@challenge"},
            form={**CHALLENGE_FORM, "version": "@version:challenge"},
        ),
    ),
    Row(
        "POST",
        "/challenges/{challenge_id}/close",
        one(
            "open",
            CHALLENGE_CHANGED,
            params={"challenge_id": "@challenge"},
            form={"version": "@version:challenge"},
        ),
    ),
    Row(
        "POST",
        "/challenges/{challenge_id}/withdraw",
        one(
            "open",
            CHALLENGE_CHANGED,
            params={"challenge_id": "@challenge"},
            form={"version": "@version:challenge"},
        ),
    ),
    # Whoever sees an open challenge may open the form; it offers only the
    # organisation's own published innovations (none for a trust).
    Row(
        "GET",
        "/challenges/{challenge_id}/responses/new",
        one("London's open challenge", everyone(), params={"challenge_id": "@london_challenge"}),
    ),
    Row(
        "POST",
        "/challenges/{challenge_id}/responses",
        one(
            "London's open challenge, with the supplier's innovation",
            rule(["supplier", *STAFF]),
            params={"challenge_id": "@london_challenge"},
            form={"innovation_id": "@innovation", "pitch": "It fits."},
        ),
    ),
    Row(
        "GET",
        "/responses/{response_id}/decline",
        one(
            "to the trust's challenge",
            rule([*TRUST, *STAFF], hidden=["other_trust"]),
            params={"response_id": "@response"},
        ),
    ),
    Row(
        "POST",
        "/responses/{response_id}/{verb}",
        (
            Call(
                "shortlist",
                rule([*TRUST, *STAFF], hidden=["other_trust"]),
                params={"response_id": "@response", "verb": "shortlist"},
                form={"version": "@version:response"},
            ),
            Call(
                "decline",
                rule([*TRUST, *STAFF], hidden=["other_trust"]),
                params={"response_id": "@response", "verb": "decline"},
                form={"version": "@version:response", "reason": "Not a fit."},
            ),
            Call(
                "select",
                rule([*TRUST, "facilitator", "admin"], hidden=["other_trust"]),
                params={"response_id": "@shortlisted_response", "verb": "select"},
                form={"version": "@version:shortlisted_response"},
            ),
            Call(
                "withdraw",
                rule(["supplier", *STAFF], hidden=["other_trust"]),
                params={"response_id": "@response", "verb": "withdraw"},
                form={"version": "@version:response", "reason": "Not ready."},
            ),
        ),
    ),
    Row(
        "GET",
        "/adoptions/{adoption_id}",
        one("at the trust", ADOPTION_PAGE_SEEN, params={"adoption_id": "@adoption"}),
    ),
    Row(
        "POST",
        "/adoptions/{adoption_id}/move",
        (
            Call(
                "back a stage",
                ADOPTION_PAGE_CHANGED,
                params={"adoption_id": "@adoption"},
                form={"version": ADOPTION_VERSION, "to_stage": "identified", "reason": "Champion left."},
            ),
            Call(
                "over a gate",
                rule(refused=[*TRUST, "facilitator", "admin"], hidden=["other_trust"]),
                params={"adoption_id": "@adoption"},
                form={"version": ADOPTION_VERSION, "to_stage": "co_design"},
            ),
        ),
    ),
    Row(
        "POST",
        "/adoptions/{adoption_id}/gate",
        one(
            "at the trust",
            ADOPTION_PAGE_CHANGED,
            params={"adoption_id": "@adoption"},
            form={"version": ADOPTION_VERSION, "stage": "needs_assessment", "champion": "Dr Asha Patel"},
        ),
    ),
    Row(
        "POST",
        "/adoptions/{adoption_id}/lead",
        one(
            "at the trust",
            ADOPTION_PAGE_CHANGED,
            params={"adoption_id": "@adoption"},
            form={"version": ADOPTION_VERSION, "lead_name": "Dr Asha Patel", "lead_email": "asha@nhs.net"},
        ),
    ),
    # Joining: public, by the reference and email the applicant was given.
    Row("POST", "/join/apply", one("anyone", everyone(REFUSED), form={"company_name": ""}), public=True),
    Row(
        "GET",
        "/join/applied/{reference}",
        one(
            "its reference",
            everyone(),
            params={"reference": "@reference"},
            query="?area=in&check=@applied_check",
        ),
        public=True,
    ),
    Row(
        "POST",
        "/join/status",
        one(
            "anyone with the reference",
            everyone(),
            form={"reference": "@reference", "email": "@applicant_email"},
        ),
        public=True,
    ),
    Row(
        "POST",
        "/join/status/reply",
        one(
            "anyone with the reference",
            everyone(),
            form={"reference": "@asked_reference", "email": "@applicant_email", "text": "Ward 3, Sefton."},
        ),
        public=True,
    ),
    Row(
        "GET",
        "/set-password/{token}",
        one("an unknown token", everyone(HIDDEN), params={"token": "nope"}),
        public=True,
    ),
    Row(
        "POST",
        "/set-password/{token}",
        one(
            "an unknown token",
            everyone(HIDDEN),
            params={"token": "nope"},
            form={"password": "a long password"},
        ),
        public=True,
    ),
    Row(
        "GET",
        "/applications/{application_id}",
        one("submitted", TEAM, params={"application_id": "@application"}),
    ),
    Row(
        "POST",
        "/applications/{application_id}/notes",
        one("submitted", TEAM, params={"application_id": "@application"}, form=NOTE),
    ),
    Row(
        "POST",
        "/applications/{application_id}/start-review",
        one(
            "submitted",
            TEAM,
            params={"application_id": "@application"},
            form={"version": "@version:application"},
        ),
    ),
    Row(
        "POST",
        "/applications/{application_id}/request-information",
        one(
            "submitted",
            TEAM,
            params={"application_id": "@application"},
            form={"version": "@version:application", "message": "Which wards?"},
        ),
    ),
    Row(
        "POST",
        "/applications/{application_id}/decline",
        one(
            "submitted",
            TEAM,
            params={"application_id": "@application"},
            form={"version": "@version:application", "message": "Not for health."},
        ),
    ),
    Row(
        "POST",
        "/applications/{application_id}/accept",
        one(
            "submitted",
            TEAM,
            params={"application_id": "@application"},
            form={"version": "@version:application", "message": "Welcome."},
        ),
    ),
    Row(
        "POST",
        "/applications/{application_id}/password-link",
        one("accepted", TEAM, params={"application_id": "@accepted_application"}, form={}),
    ),
)
