"""Reads stored rows as the Python Agents SDK's EncryptedSession does, with the `cryptography` package.

An independent reader of what nestjs-session-memory writes: stdin is {"key", "conversation_id",
"rows": [message_data, ...]}; stdout is the JSON list of items it can read (envelopes decrypted
with the conversation's HKDF-derived Fernet key, plain rows as they are, undecryptable rows skipped).
"""
import base64
import json
import sys

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def master_bytes(key: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(key.encode())
        if len(raw) == 32:
            return raw
    except Exception:
        pass
    return key.encode("utf-8")


def conversation_fernet(key: str, conversation_id: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=conversation_id.encode("utf-8"),
                info=b"agents.session-store.hkdf.v1")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(master_bytes(key))))


def main() -> None:
    request = json.load(sys.stdin)
    fernet = conversation_fernet(request["key"], request["conversation_id"])
    items = []
    for text in request["rows"]:
        value = json.loads(text)
        if isinstance(value, dict) and value.get("__enc__") == 1:
            if value.get("v") != 1 or value.get("kid") != "hkdf-v1":
                continue
            try:
                items.append(json.loads(fernet.decrypt(value["payload"].encode()).decode("utf-8")))
            except InvalidToken:
                continue
        else:
            items.append(value)
    json.dump(items, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
