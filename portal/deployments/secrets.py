"""Secure parameters are kept encrypted with a key derived from SECRET_KEY; never in plain text."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(("peak-portal secure parameters:" + settings.SECRET_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(values: dict) -> str:
    return _fernet().encrypt(json.dumps(values).encode()).decode() if values else ""


def unseal(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError("Secure parameters cannot be decrypted (was SECRET_KEY changed?).") from exc
