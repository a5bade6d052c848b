"""bionty's deterministic uids: the same term gets the same uid in every instance.

Rule (bionty ``uids.encode_uid``): base62 of the md5 digest of one string, cut to the uid
length. The string is ``entity + name + organism + version`` for ``Source``; the Ensembl id
(else ``stable_id``, else ``symbol + organism``) for ``Gene``; the ontology id (else
``name + organism``) for every other bio registry. Base62 is lamin-utils' ``encodebytes``
(digits, then upper case, then lower case; leading zero bytes written as ``0`` + a count).
"""

from __future__ import annotations

import hashlib

import numpy as np

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
    """``hash_uid`` for many strings (None stays None), with the base62 step vectorised.

    md5 runs per string (hashlib has no batch form; ~0.5 µs each); the 128-bit digests are
    then divided by 62 as four 32-bit limbs in numpy, 22 digit rounds for all rows at once.
    The rare digests with a leading zero byte (1 in 256) take the scalar path.
    """
    texts = list(texts)
    n = len(texts)
    if n == 0:
        return []
    md5 = hashlib.md5
    blank = b"\0" * 16
    raw = b"".join(blank if t is None else md5(t.encode()).digest() for t in texts)
    b = np.frombuffer(raw, dtype=np.uint8).reshape(n, 16).astype(np.uint64)
    limbs = (b[:, 0::4] << 24) | (b[:, 1::4] << 16) | (b[:, 2::4] << 8) | b[:, 3::4]  # big-endian words
    digits = np.empty((n, 22), dtype=np.uint8)
    for k in range(22):
        rem: np.ndarray = np.zeros(n, dtype=np.uint64)
        for j in range(4):
            cur = (rem << np.uint64(32)) | limbs[:, j]
            limbs[:, j] = cur // np.uint64(62)
            rem = cur % np.uint64(62)
        digits[:, 21 - k] = rem
    first = (digits != 0).argmax(axis=1)
    alphabet = np.frombuffer(ALPHABET.encode(), dtype="S1")
    idx = np.minimum(first[:, None] + np.arange(length)[None, :], 21)
    chars = alphabet[digits[np.arange(n)[:, None], idx]]
    out = chars.view(f"S{length}").reshape(n).astype(str).tolist()
    # scalar path: None inputs, digests with a leading zero byte, numbers shorter than ``length``
    odd = np.flatnonzero((b[:, 0] == 0) | (22 - first < length))
    for i in odd.tolist():
        t = texts[i]
        out[i] = None if t is None else hash_uid(t, length)
    return out


def key_for(registry: str, values: dict, organism: str = "", id_field: str = "ontology_id") -> str | None:
    """The string bionty hashes for a record of ``registry`` with field ``values`` (None: no key)."""
    if registry == "Source":
        return "".join(str(values.get(k) or "") for k in ("entity", "name", "organism", "version"))
    if registry == "Gene":
        key = values.get("ensembl_gene_id") or values.get("stable_id")
        if key:
            return key
        symbol = values.get("symbol")
        return f"{symbol}{organism}" if symbol else None
    key = values.get(id_field)
    if key:
        return key
    name = values.get("name")
    return f"{name}{organism}" if name else None
