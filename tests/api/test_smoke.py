from fastapi.testclient import TestClient

from tests.factories import World


def test_a_partner_moves_an_adoption_forward(client: TestClient, world: World) -> None:
    url = f"/api/v1/adoptions/{world.adoption.id}"
    got = client.get(url, headers=world.auth("trust"))
    assert got.status_code == 200
    assert got.json()["stage"] == "identified"

    moved = client.post(
        f"{url}/transitions",
        json={"to_stage": "needs_assessment"},
        headers={**world.auth("trust"), "If-Match": got.headers["ETag"]},
    )
    assert moved.status_code == 409, moved.text
    assert moved.json()["missing"] == ["champion"]
