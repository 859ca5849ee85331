"""ed25519 signing of manifests: key pairs, the signed envelope, and its verification.

What travels over MQTT (and what `speaker ota apply` reads) is an envelope:

    {"format": 1, "key": "<key id>", "manifest": "<the manifest JSON, as text>", "signature": "<base64>"}

The signature covers `DOMAIN + manifest text` (UTF-8), exactly as sent, so nothing has to be
re-serialized the same way twice, and a signature made for something else cannot pass as one.
The key id is the first 16 hex digits of the sha256 of the raw 32-byte public key. Public keys are
written as base64 of those 32 bytes (what `speaker ota keygen` prints and `ota.trusted_keys` lists).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from speaker.errors import SpeakerError
from speaker.ota.errors import MALFORMED, TAMPERED, UNSIGNED, UNTRUSTED, OtaError
from speaker.ota.manifest import UpdateManifest

DOMAIN = b"speaker-ota-manifest-v1\n"
ENVELOPE_FORMAT = 1
MAX_ENVELOPE = 256 * 1024  # a manifest is a few kB; anything this large is not one


def public_key_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key from its base64 text (an optional 'ed25519:' prefix is accepted)."""
    value = text.strip().removeprefix("ed25519:")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base64 ed25519 public key: {text!r}") from exc
    if len(raw) != 32:
        raise ValueError(f"an ed25519 public key is 32 bytes, {text!r} has {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class KeyFiles:
    private: Path
    public: Path


def generate_keys(path: Path, *, overwrite: bool = False) -> KeyFiles:
    """Write a new private key to `path` (PEM, mode 0600) and its public key to `path`.pub."""
    public_path = path.with_name(path.name + ".pub")
    for existing in (path, public_path):
        if existing.exists() and not overwrite:
            raise SpeakerError(f"{existing} already exists; choose another path or pass --force")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_text(public_key_text(key.public_key()) + "\n", encoding="ascii")
    return KeyFiles(path, public_path)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SpeakerError(f"signing key not found: {path} (make one with: speaker ota keygen)") from exc
    except OSError as exc:
        raise SpeakerError(f"cannot read signing key {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SpeakerError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SpeakerError(f"{path} is not an ed25519 key (make one with: speaker ota keygen)")
    return key


def sign(manifest: UpdateManifest | str, key: Ed25519PrivateKey) -> bytes:
    """The signed envelope for a manifest (or for manifest text as given), as UTF-8 JSON bytes."""
    text = manifest if isinstance(manifest, str) else manifest.to_json()
    signature = key.sign(DOMAIN + text.encode("utf-8"))
    envelope = {
        "format": ENVELOPE_FORMAT,
        "key": key_id(key.public_key()),
        "manifest": text,
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    return json.dumps(envelope, indent=1).encode("utf-8")


@dataclass(frozen=True)
class SignedManifest:
    manifest: UpdateManifest
    key: str  # id of the key that signed it
    digest: str  # sha256 of the signed manifest text: the same announcement, whatever the envelope
    envelope: str  # the envelope as received, kept to resume the update after a restart


def verify(payload: bytes | str, trusted: dict[str, Ed25519PublicKey]) -> SignedManifest:
    """Check the signature against `trusted` (key id -> key) *before* reading the manifest itself."""
    if isinstance(payload, bytes):
        if len(payload) > MAX_ENVELOPE:
            raise OtaError(f"the announcement is {len(payload)} bytes: not a manifest", code=MALFORMED)
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise OtaError("the announcement is not UTF-8 text", code=MALFORMED) from exc
    try:
        envelope = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise OtaError(f"the announcement is not JSON: {exc}", code=MALFORMED) from exc
    if not isinstance(envelope, dict):
        raise OtaError("the announcement is not a JSON object", code=MALFORMED)
    if "signature" not in envelope:
        raise OtaError("the manifest is not signed; sign it with: speaker ota publish", code=UNSIGNED)
    text, signature_b64 = envelope.get("manifest"), envelope.get("signature")
    if not isinstance(text, str) or not isinstance(signature_b64, str):
        raise OtaError("the envelope needs 'manifest' and 'signature' as text", code=MALFORMED)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OtaError("the signature is not base64", code=TAMPERED) from exc
    if not trusted:
        raise OtaError(
            "no trusted keys are configured (ota.trusted_keys); every update is refused until one is added",
            code=UNTRUSTED,
        )
    claimed = envelope.get("key")
    key = trusted.get(claimed) if isinstance(claimed, str) else None
    if key is None:
        raise OtaError(
            f"the manifest is signed by key {claimed!r}, which is not among the trusted keys "
            f"({', '.join(sorted(trusted))})",
            code=UNTRUSTED,
        )
    try:
        key.verify(signature, DOMAIN + text.encode("utf-8"))
    except InvalidSignature as exc:
        raise OtaError(
            f"the signature does not match the manifest (signed by key {claimed}): "
            "it was altered after signing",
            code=TAMPERED,
        ) from exc
    manifest = UpdateManifest.from_json(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return SignedManifest(manifest, str(claimed), digest, payload)


def trusted_keys(texts: tuple[str, ...] | list[str]) -> dict[str, Ed25519PublicKey]:
    keys = [parse_public_key(t) for t in texts]
    return {key_id(k): k for k in keys}
