#!/usr/bin/env python3
"""Writes the interop test vectors for crates/privicore from an independent implementation.

Run once (the outputs are committed; the Rust tests never run this script):

    python3 crates/privicore/tests/vectors/make_vectors.py

Needs Python's `cryptography` package (AESGCM, X25519) and the standard hashlib (BLAKE2b).
Every input is derived deterministically from a fixed label with SHA-256, so re-running the
script reproduces the same files byte for byte.
"""

import hashlib
import json
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION_TAG = bytes([0x31, 0x42, 0x05, 0x00])


def stream(label: str, n: int) -> bytes:
    """n deterministic pseudo-random bytes: SHA-256(label || counter) blocks."""
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return bytes(out[:n])


def aes_gcm_cases():
    cases = []
    for size in [0, 1, 15, 16, 17, 1000, 70000]:
        key = stream(f"key/{size}", 32)
        iv = stream(f"iv/{size}", 12)
        plaintext = stream(f"plaintext/{size}", size)
        # AESGCM.encrypt returns ciphertext || tag; no associated data.
        wire = iv + AESGCM(key).encrypt(iv, plaintext, None)
        assert len(wire) == size + 28
        cases.append(
            {
                "name": f"{size} bytes",
                "key": key.hex(),
                "iv": iv.hex(),
                "plaintext": plaintext.hex(),
                "wire": wire.hex(),
            }
        )
    return cases


def signed_key(public: bytes) -> str:
    framed = VERSION_TAG + public
    return (framed + hashlib.blake2b(framed, digest_size=64).digest()).hex()


def signed_key_cases():
    seeds = [
        bytes(32),
        bytes([0xFF] * 32),
        bytes(range(32)),
        stream("seed/a", 32),
        stream("seed/b", 32),
    ]
    cases = []
    for seed in seeds:
        public = (
            X25519PrivateKey.from_private_bytes(seed)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        signed = signed_key(public)
        assert len(signed) == 200
        cases.append({"seed": seed.hex(), "public_key": public.hex(), "signed": signed})
    return cases


def write(name: str, doc) -> None:
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def main() -> None:
    import cryptography

    source = f"Python cryptography {cryptography.__version__} (make_vectors.py)"
    write(
        "aes_gcm.json",
        {
            "source": source,
            "format": "wire = iv (12) || ciphertext || tag (16); AES-256-GCM, no AAD",
            "cases": aes_gcm_cases(),
        },
    )
    write(
        "signed_keys.json",
        {
            "source": source + " + hashlib.blake2b(digest_size=64)",
            "format": "signed = hex(31420500 || X25519 public key || BLAKE2b-512(31420500 || public key))",
            "cases": signed_key_cases(),
        },
    )


if __name__ == "__main__":
    main()
