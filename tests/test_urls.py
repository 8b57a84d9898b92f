from django.test import Client


def test_the_front_door_leads_to_sign_in(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"
