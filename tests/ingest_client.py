"""Posting to the ingest API the way a detector does."""

from typing import Any

from rest_framework.test import APIClient

INGEST_URL = "/api/v1/flags/"


def client_for(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def post_flags(client: APIClient, items: list[Any]) -> Any:
    return client.post(INGEST_URL, {"flags": items}, format="json")


def post_raw(client: APIClient, body: str | bytes, content_type: str = "application/json") -> Any:
    return client.post(INGEST_URL, body, content_type=content_type)
