"""Near-duplicate and repost groups: MinHash signatures and LSH banding.

A post's signature is the MinHash (64 permutations) of its character 3-grams (normalised
text, spaces and punctuation removed), so reworded copies, added hashtags and a changed
sentence or two still collide. LSH banding (`BANDS` bands of `ROWS` values) proposes
candidates; a candidate joins when the estimated Jaccard similarity (the share of equal
signature values) reaches `THRESHOLD`. A post joins the group of its most similar recent
post (the earliest indexed among equals), else opens its own group (its own key
"platform:post id"). A repost joins its parent's group whatever its text.

Signatures are computed for a whole batch in a few numpy operations: each 3-gram is hashed
to 32 bits from its code points (a fixed integer mix, so every process agrees), then each of
the `NUM_PERM` hash functions is applied to every 3-gram of the batch at once and the minimum
taken per post. The functions are multiply-shift hashes, `h ↦ (a·h + b) >> 32` in 64-bit
arithmetic with random 64-bit `a`, `b` (a universal family, Dietzfelbinger 1996): no integer
division, unlike datasketch's `(a·h + b) mod (2⁶¹ − 1)`. datasketch's `MinHash` hashes each
3-gram with SHA-1 in a Python loop, which with its LSH was a third of the pipeline's time
(bench/opinion); its parameter optimiser still chose `BANDS` × `ROWS` for the threshold.

The index holds the most recent `WINDOW` posts of this process's view in a ring of
signatures. Before each batch it reads the posts stored since its last read (id > last id
seen), so posts ingested by other processes are in it too; a fresh process warms itself
from the latest `WINDOW` posts.
"""

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np

THRESHOLD = 0.5
NUM_PERM = 64
# MinHashLSH(threshold=0.5, num_perm=64) of datasketch picks 14 bands of 4 rows: the pair
# of Jaccard 0.5 collides in some band with probability 1 − (1 − 0.5⁴)¹⁴ ≈ 0.60, 0.7 ≈ 0.98.
BANDS, ROWS = 14, 4
WINDOW = 50_000
SHINGLE = 3
# A band value shared by very many posts (a slogan reposted all day) proposes only its newest
# members: they carry the group as well as the older ones, and the cost stays bounded.
BUCKET_CANDIDATES = 32
CHUNK_SHINGLES = 60_000  # bounds the (shingles × functions) array to ~30 MB
_NOT_TEXT = re.compile(r"[\W_]+")
_MAX_HASH = np.uint64((1 << 32) - 1)
_EMPTY = np.full(NUM_PERM, (1 << 32) - 1, dtype=np.uint32)
_seeded = np.random.default_rng(1)
_A = _seeded.integers(0, 1 << 64, NUM_PERM, dtype=np.uint64, endpoint=False) | np.uint64(1)
_B = _seeded.integers(0, 1 << 64, NUM_PERM, dtype=np.uint64, endpoint=False)
_SHIFT = np.uint64(32)


def _shingle_hashes(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """32-bit hashes of the 3-grams beginning at `starts` (a splitmix64-style finaliser
    over the three code points, so neighbouring characters spread over all bits)."""
    with np.errstate(over="ignore"):
        h = codes[starts] * np.uint64(0x100000001B3)
        h = (h ^ codes[starts + 1]) * np.uint64(0x100000001B3)
        h = (h ^ codes[starts + 2]) * np.uint64(0x100000001B3)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return h & _MAX_HASH


def signatures(normalized_texts: Sequence[str]) -> np.ndarray:
    """The MinHash signature of each text, one row each (uint32, `NUM_PERM` columns)."""
    result = np.empty((len(normalized_texts), NUM_PERM), dtype=np.uint32)
    pieces: list[np.ndarray] = []
    counts: list[int] = []
    rows: list[int] = []
    pending = 0

    def flush() -> None:
        nonlocal pieces, counts, rows, pending
        if not rows:
            return
        codes = np.concatenate(pieces)
        lengths = np.array([len(p) for p in pieces])
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        starts = np.concatenate([offsets[i] + np.arange(n) for i, n in enumerate(counts)])
        hashed = _shingle_hashes(codes, starts)
        # (functions × 3-grams), so that each post's minimum is over a contiguous run.
        with np.errstate(over="ignore"):  # wrapping is the point of multiply-shift
            permuted = np.multiply(_A[:, None], hashed[None, :])
            np.add(permuted, _B[:, None], out=permuted)
        np.right_shift(permuted, _SHIFT, out=permuted)
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        result[rows] = np.minimum.reduceat(permuted, first, axis=1).T
        pieces, counts, rows, pending = [], [], [], 0

    for row, text in enumerate(normalized_texts):
        stripped = _NOT_TEXT.sub("", text)
        if not stripped:
            result[row] = _EMPTY
            continue
        codes = np.frombuffer(stripped.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        if len(codes) < SHINGLE:  # a text shorter than a 3-gram is its own only "3-gram"
            codes = np.concatenate((codes, np.zeros(SHINGLE - len(codes), dtype=np.uint64)))
        n = len(codes) - SHINGLE + 1
        if pending and pending + n > CHUNK_SHINGLES:
            flush()
        pieces.append(codes)
        counts.append(n)
        rows.append(row)
        pending += n
    flush()
    return result


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / NUM_PERM


@dataclass
class Item:
    key: str  # "platform:post id"
    normalized_text: str
    repost_of: str = ""  # the parent's key, when it is a repost
    group: str = ""  # filled by assign()


_BAND = np.dtype((np.void, ROWS * 4))  # one band of uint32 values as one bytes object


def _bands(sig: np.ndarray) -> list[bytes]:
    return sig[: BANDS * ROWS].view(_BAND).tolist()


class Index:
    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self.signatures = np.zeros((window, NUM_PERM), dtype=np.uint32)
        self.keys: list[str | None] = [None] * window
        self.slot_of: dict[str, int] = {}
        self.groups: dict[str, str] = {}
        # band value → slots holding it, oldest first (a dict keeps insertion order)
        self.tables: list[dict[bytes, dict[int, None]]] = [{} for _ in range(BANDS)]
        self.added = 0  # slots are used round-robin: slot = added % window
        self.last_id = 0
        self.lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        return key in self.slot_of

    def add(self, key: str, sig: np.ndarray, group: str, bands: list[bytes] | None = None) -> None:
        if key in self.slot_of:
            return
        slot = self.added % self.window
        old = self.keys[slot]
        if old is not None:
            for table, band in zip(self.tables, _bands(self.signatures[slot]), strict=True):
                members = table[band]
                del members[slot]
                if not members:
                    del table[band]
            del self.slot_of[old]
            self.groups.pop(old, None)
        self.signatures[slot] = sig
        self.keys[slot] = key
        self.slot_of[key] = slot
        self.groups[key] = group
        for table, band in zip(self.tables, bands or _bands(sig), strict=True):
            table.setdefault(band, {})[slot] = None
        self.added += 1

    def sync(self) -> None:
        """Take in posts stored since the last sync (by any process)."""
        from fenghuo.opinion.models import Post

        rows = Post.objects.filter(pk__gt=self.last_id)
        if not self.last_id:
            rows = rows.order_by("-pk")[: self.window]
        rows = sorted(rows.values_list("pk", "platform", "post_id", "normalized_text", "dup_group"))
        if not rows:
            return
        self.last_id = max(self.last_id, rows[-1][0])
        # This process's own posts are indexed already, when their batch was assigned.
        fresh = [row for row in rows if f"{row[1]}:{row[2]}" not in self.slot_of]
        for (_, platform, post_id, _, group), sig in zip(
            fresh, signatures([row[3] for row in fresh]), strict=True
        ):
            key = f"{platform}:{post_id}"
            self.add(key, sig, group or key)

    def _nearest_group(self, sig: np.ndarray, bands: list[bytes]) -> str:
        """The group of the most similar indexed post at Jaccard ≥ THRESHOLD, else ""."""
        candidates: set[int] = set()
        for table, band in zip(self.tables, bands, strict=True):
            members = table.get(band)
            if members:
                if len(members) > BUCKET_CANDIDATES:
                    candidates.update(islice(reversed(members), BUCKET_CANDIDATES))
                else:
                    candidates.update(members)
        if not candidates:
            return ""
        slots = np.fromiter(candidates, dtype=np.int64, count=len(candidates))
        # Equal values per candidate: the 64 comparisons packed into one 64-bit word and its
        # bits counted, half the time of count_nonzero over the rows (~100 candidates).
        equal = np.packbits(self.signatures.take(slots, axis=0) == sig, axis=1)
        scores = np.bitwise_count(equal.view(np.uint64)).ravel().astype(np.int64)
        if scores.max() < THRESHOLD * NUM_PERM - 1e-9:
            return ""
        # Among equal scores the earliest indexed post wins: its age breaks the tie.
        age = (slots - self.added) % self.window
        best = int(np.argmax(scores * self.window + (self.window - 1 - age)))
        return self.groups[self.keys[int(slots[best])]]

    def assign(self, items: Sequence[Item], parent_groups: dict[str, str]) -> None:
        """Set each item's group; items are added to the index in order."""
        sigs = signatures([item.normalized_text for item in items])
        # The band values of the whole batch in one NumPy call (one per post cost more).
        batch_bands = np.ascontiguousarray(sigs[:, : BANDS * ROWS]).view(_BAND).tolist()
        for item, sig, bands in zip(items, sigs, batch_bands, strict=True):
            group = ""
            if item.repost_of:
                group = self.groups.get(item.repost_of) or parent_groups.get(item.repost_of, "")
            if not group:
                group = self._nearest_group(sig, bands)
            item.group = group or item.key
            self.add(item.key, sig, item.group, bands)


INDEX = Index()
