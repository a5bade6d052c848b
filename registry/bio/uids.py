"""bionty's deterministic uids: the same term gets the same uid in every instance.

Rule (bionty ``uids.encode_uid``): base62 of the md5 digest of one string, cut to the uid
length. The string is ``entity + name + organism + version`` for ``Source``; the Ensembl id
(else ``stable_id``, else ``symbol + organism``) for ``Gene``; the ontology id (else
``name + organism``) for every other bio registry. Base62 is lamin-utils' ``encodebytes``
(digits, then upper case, then lower case; leading zero bytes written as ``0`` + a count).
"""

from __future__ import annotations

import hashlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def encode_base62(data: bytes) -> str:
    """lamin-utils' ``encodebytes``: big-endian integer in base62, leading zero bytes kept.

    >>> encode_base62(b"\\x00\\x01")
    '011'
    """
    zeros = len(data) - len(data.lstrip(b"\0"))
    full, rest = divmod(zeros, len(ALPHABET) - 1)
    pad = ("0" + ALPHABET[-1]) * full + (("0" + ALPHABET[rest]) if rest else "")
    if zeros == len(data):
        return pad
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(ALPHABET[r])
    return pad + "".join(reversed(out))


def hash_uid(text: str, length: int = 14) -> str:
    """``base62(md5(text))[:length]``.

    >>> hash_uid("CL:0000084")
    '22LvKd01YyNA1a'
    """
    return encode_base62(hashlib.md5(text.encode()).digest())[:length]


def hash_uids(texts, length: int = 14) -> list[str | None]:
    """``hash_uid`` for many strings (None stays None).

    hashlib has no vectorised form and neither Arrow nor polars offer md5; at ~2 µs a string
    this is a few hundredths of a second for a whole ontology, small next to the commit.
    """
    md5 = hashlib.md5
    enc = encode_base62
    return [None if t is None else enc(md5(t.encode()).digest())[:length] for t in texts]


def key_for(registry: str, values: dict, organism: str = "") -> str | None:
    """The string bionty hashes for a record of ``registry`` with field ``values`` (None: no key)."""
    if registry == "Source":
        return "".join(str(values.get(k) or "") for k in ("entity", "name", "organism", "version"))
    if registry == "Gene":
        key = values.get("ensembl_gene_id") or values.get("stable_id")
        if key:
            return key
        symbol = values.get("symbol")
        return f"{symbol}{organism}" if symbol else None
    key = values.get("ontology_id")
    if key:
        return key
    name = values.get("name")
    return f"{name}{organism}" if name else None
