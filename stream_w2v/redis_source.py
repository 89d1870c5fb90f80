"""A Redis Streams source: documents from a stream, read in a consumer group,
acknowledged only once a checkpoint holds them.

Each stream entry is one document: the value of one field ("text" by
default). Entries are read with ``XREADGROUP ... COUNT n`` (bounded batches),
so memory stays flat however far behind the trainer is.

The guarantee: every entry trains the checkpointed model exactly once
---------------------------------------------------------------------
A checkpoint records, in this source's ``position()``, ``last_id``: the ID of
the last entry it has trained. A consumer receives entries in increasing ID
order (its own pending list is read first, from that ID on, then new entries
with ``>``, all above anything ever delivered to the group), and trains them in
that order, so the checkpoint holds exactly the entries delivered to this
consumer up to ``last_id``, and none after it. Hence:

* Entries are acknowledged (``XACK``) only after the checkpoint that holds
  them has been written, and then all of this consumer's pending entries up to
  its ``last_id`` are (``acknowledge()``, paged through ``XPENDING``).
* A crash (``kill -9``) between reading and checkpointing leaves the entries
  pending and the model at the older checkpoint. On restart the source first
  finishes the acknowledgement of that checkpoint (entries up to its
  ``last_id``: a crash after the checkpoint and before the XACK), then reads
  its pending list after ``last_id`` (delivered, not in the checkpoint: trained
  now), then new entries. Nothing is trained twice, nothing is skipped.
* An entry that arrives at or below ``last_id`` (a server that lost its last
  writes in a restart and delivers again) is counted in "duplicates" and not
  trained: the model already has it.

What this needs: the same consumer name across restarts (only a consumer
reads its own pending list; the command line keeps the one in the checkpoint),
and nobody moving other consumers' entries into it (``XCLAIM``). Trainers that
share a group split the stream between them (each entry goes to one of them):
models that should each see every entry need their own group. A group that
does not exist is created (``MKSTREAM``) at the start of the stream, or after
the checkpoint's ``last_id`` when resuming (a server restarted without its
data). Redis keeps the entries pending until the next checkpoint, so the
checkpoint interval bounds the pending list.

When the server goes away, reading retries with exponential backoff (0.1 s
doubling up to BACKOFF_MAX) and yields None meanwhile (nothing to read right
now), so that a trainer can train and checkpoint what it holds; after a
reconnect the pending list is read again from the last entry taken, so
entries whose reply was lost in the break are not skipped. Errors at
``open()`` (a bad URL, a refused connection, a key that is not a stream) raise
BrokerError with a one-line message.

Library use::

    from stream_w2v.redis_source import RedisStreamSource

    source = RedisStreamSource("redis://localhost:6379/0", "texts", group="w2v", consumer="trainer-1",
                               start=saved)   # the position stored with the last checkpoint, or None
    source.open()
    docs = []
    for doc in source.documents():          # str, or None when the stream is idle right now
        if doc is not None:
            docs.append(doc)
        if docs and (doc is None or len(docs) >= 100_000):
            model.train(docs)
            docs = []
            position = source.position()    # taken when everything yielded is trained
            model.save("model", extra={"sources": [position]})
            source.acknowledge(position)    # only once the checkpoint is written
"""
from __future__ import annotations

import os
import re
import socket
import time
from typing import Callable, Iterator
from urllib.parse import urlsplit

from stream_w2v.sources import Line

READ_COUNT = 500          # entries per XREADGROUP: the most held in memory at once
ACK_PAGE = 1000           # pending entries acknowledged per XPENDING + XACK round
BLOCK_MS = 200            # an idle stream is waited for this long per read (BLOCK)
BACKOFF_MIN, BACKOFF_MAX = 0.1, 5.0   # reconnect delays (seconds), doubling
SOCKET_TIMEOUT = 10.0     # no reply for this long counts as the server gone
DEFAULT_GROUP = "stream-w2v"
DEFAULT_FIELD = "text"
KIND = "redis"


class BrokerError(Exception):
    """The broker cannot be used as given (URL, connection, key type): a one-line message."""


def default_consumer(model_dir: str | None = None) -> str:
    """A consumer name that stays the same across restarts on this host (and model directory)."""
    host = socket.gethostname() or "localhost"
    return f"{host}:{os.path.abspath(model_dir)}" if model_dir else host


def source_path(stream: str, group: str, consumer: str) -> str:
    """The name of the source in a checkpoint's "sources": what its position is matched by."""
    return f"redis:{stream}/{group}/{consumer}"


def redact(url: str) -> str:
    """The URL without its password (user:password@ or ?password=), for messages and checkpoints."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return "<unparsable URL>"
    if password is not None:
        url = url.replace(f":{password}@", ":***@", 1)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url)


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisStreamSource:
    """Documents from a Redis stream, read as ``consumer`` of ``group``; see the module's doc.

    ``start`` is a position() saved with a checkpoint: reading resumes after
    its ``last_id``. ``on_event`` (if given) receives one-line notes about
    connection loss and recovery.
    """

    follow = True  # never ends by itself: iter_sources lets it take turns and treats None as idle

    def __init__(self, url: str, stream: str, group: str = DEFAULT_GROUP, consumer: str | None = None,
                 field: str = DEFAULT_FIELD, start: dict | None = None, count: int = READ_COUNT,
                 block_ms: int = BLOCK_MS, on_event: Callable[[str], None] | None = None):
        if not stream:
            raise BrokerError("the stream key is empty")
        if count < 1:
            raise BrokerError(f"count must be at least 1, not {count}")
        self.url, self.stream, self.group = url, stream, group
        self.consumer = consumer or default_consumer()
        self.field, self._field_key = field, field.encode()
        self.count, self.block_ms = count, block_ms
        self.on_event = on_event
        self.path = source_path(stream, group, self.consumer)
        last = start.get("last_id") if isinstance(start, dict) else None
        self._last_raw = last if isinstance(last, str) and last else None  # ID of the last entry taken
        self._cursor = self.last_id or "0"  # own pending list first, after what the checkpoint holds
        self._ack_wanted: str | None = self.last_id  # the saved checkpoint's acknowledgement, finished at open()
        self._client = None
        self._stopped = False
        self._entries = self._bytes = 0  # the hot counters, kept out of the dict
        self.counters = {"redelivered": 0, "skipped": 0, "duplicates": 0, "decode_errors": 0, "reconnects": 0}

    @property
    def last_id(self) -> str | None:
        """The ID of the last entry taken (yielded or skipped), or of the start position."""
        raw = self._last_raw
        return None if raw is None else _text(raw)

    # --- the source interface (see stream_w2v.sources) ----------------------------------------

    def position(self) -> dict:
        """Where a checkpoint taken now stands: ``last_id`` is the last entry yielded (or skipped)."""
        return {"path": self.path, "kind": KIND, "url": redact(self.url), "stream": self.stream,
                "group": self.group, "consumer": self.consumer, "field": self.field,
                "last_id": self.last_id, "entries": self._entries, "offset": self._bytes, **self.counters}

    def stop(self) -> None:
        """Make iteration end promptly. Only sets a flag, so it is safe in a signal handler."""
        self._stopped = True

    def close(self) -> None:
        self.stop()
        if self._client is not None:
            self._client.close()
            self._client = None

    def _lines(self) -> Iterator[Line | None]:
        """For stream_w2v.sources.iter_sources: documents as Lines, None when idle."""
        for doc in self.documents():
            yield None if doc is None else Line(doc)

    # --- connecting -----------------------------------------------------------------------------

    def open(self) -> "RedisStreamSource":
        """Connect, create the group if needed, finish the acknowledgement of the start position.

        BrokerError (one line) if the URL is malformed, the server cannot be
        reached or refuses us, or the key holds something other than a stream.
        """
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise BrokerError("--redis needs the redis package: pip install 'stream_w2v[redis]'") from None
        where = redact(self.url)
        try:
            # No retries inside redis-py: a repeated XREADGROUP '>' whose first reply
            # was lost would leave entries pending unseen. This class retries itself.
            self._client = redis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0),
                                                socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT)
            self._client.ping()
            self._ensure_group()
            if self._ack_wanted:
                self._ack_through(self._ack_wanted)
        except ValueError as exc:  # from_url: scheme, port, query values
            raise BrokerError(f"bad Redis URL {where}: {exc}") from None
        except TypeError as exc:  # an unknown query option reaches the connection
            raise BrokerError(f"bad Redis URL {where}: {exc}") from None
        except redis.AuthenticationError as exc:
            raise BrokerError(f"Redis at {where} refused the credentials: {exc}") from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BrokerError(f"cannot connect to Redis at {where}: {exc}") from None
        except redis.ResponseError as exc:
            if str(exc).startswith("WRONGTYPE"):
                raise BrokerError(f"Redis key {self.stream!r} at {where} holds something other than a stream") from None
            raise BrokerError(f"Redis at {where}: {exc}") from None
        return self

    def _ensure_group(self) -> None:
        import redis
        try:
            self._client.xgroup_create(self.stream, self.group, id=self.last_id or "0", mkstream=True)
        except redis.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):  # BUSYGROUP: it exists, as it should
                raise

    # --- acknowledging --------------------------------------------------------------------------

    def acknowledge(self, position: dict | None = None) -> bool:
        """XACK this consumer's pending entries up to ``position["last_id"]``: call it once
        a checkpoint holding that position has been written.

        Returns False if the server cannot be reached now; the acknowledgement is
        then retried after the next reconnect (and a restart finishes it anyway).
        """
        import redis
        last = (position or self.position()).get("last_id")
        if not last or self._client is None:
            return True
        self._ack_wanted = last
        try:
            self._ack_through(last)
            return True
        except redis.RedisError:
            return False

    def _ack_through(self, last: str) -> None:
        while True:
            pending = self._client.xpending_range(self.stream, self.group, "-", last, ACK_PAGE,
                                                  consumername=self.consumer)
            if pending:
                self._client.xack(self.stream, self.group, *[p["message_id"] for p in pending])
            if len(pending) < ACK_PAGE:
                break
        if self._ack_wanted == last:
            self._ack_wanted = None

    # --- reading --------------------------------------------------------------------------------

    def _read(self, block: bool) -> list:
        reply = self._client.xreadgroup(self.group, self.consumer, {self.stream: self._cursor}, count=self.count,
                                        block=self.block_ms if block and self._cursor == ">" else None)
        if not reply:
            return []
        if isinstance(reply, dict):  # RESP3 (protocol=3 in the URL): {stream: [entries]}
            return next(iter(reply.values()))[0]
        return reply[0][1]

    def _note(self, text: str) -> None:
        if self.on_event is not None:
            self.on_event(text)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopped and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def documents(self) -> Iterator[str | None]:
        """The documents of the stream as they come; None when there is nothing right now
        (caught up, or the server is away): a good moment to train and checkpoint.

        Ends only after stop(). position() taken after a document includes it.
        """
        import redis
        if self._client is None:
            self.open()
        transient = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError)
        empty_reads = 0
        down_since, delay, failures = None, BACKOFF_MIN, 0
        group_gone = False
        while not self._stopped:
            try:
                if group_gone:  # the server came back without the group (or the stream): make it again
                    self._ensure_group()
                    group_gone = False
                if self._ack_wanted is not None:  # an acknowledgement that failed while the server was away
                    self._ack_through(self._ack_wanted)
                # Two quick reads find a stream idle (the second tells iter_sources that
                # a whole round had nothing); after that, reads wait BLOCK_MS on the server.
                batch = self._read(block=empty_reads >= 2)
            except transient as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    self._note(f"Redis at {redact(self.url)} is unreachable ({exc}); reconnecting with backoff")
                failures += 1
                # Whatever was delivered but not yet seen (a lost reply) is in the pending list.
                self._cursor = self.last_id or "0"
                empty_reads = 0
                yield None
                self._sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            except redis.ResponseError as exc:
                if str(exc).startswith("WRONGTYPE"):
                    raise BrokerError(f"Redis key {self.stream!r} at {redact(self.url)} "
                                      f"holds something other than a stream now") from None
                if not str(exc).startswith("NOGROUP") or group_gone:
                    raise BrokerError(f"Redis at {redact(self.url)}: {exc}") from None
                self._note(f"Redis group {self.group!r} of {self.stream!r} is gone; creating it again")
                group_gone = True
                self._cursor = self.last_id or "0"
                continue
            if down_since is not None:
                self.counters["reconnects"] += 1
                self._note(f"Redis at {redact(self.url)} is back after {time.monotonic() - down_since:.1f} s "
                           f"({failures} failed attempts)")
                down_since, delay, failures = None, BACKOFF_MIN, 0
            if not batch:
                if self._cursor != ">":  # the pending list is done: now new entries
                    self._cursor = ">"
                    continue
                empty_reads += 1
                yield None
                continue
            empty_reads = 0
            if self._cursor != ">":  # from the pending list: delivered before, not in the checkpoint
                self._cursor = _text(batch[-1][0])
                self.counters["redelivered"] += len(batch)
            # IDs only grow, and a batch is in order: only if its first entry is at or below
            # the last one taken (a server that lost its last writes delivers again) is any checked.
            old = self._last_raw is not None and _id_key(_text(batch[0][0])) <= _id_key(self.last_id)
            key, name = self._field_key, self.field
            for raw_id, fields in batch:
                if old:
                    if _id_key(_text(raw_id)) <= _id_key(self.last_id):
                        self.counters["duplicates"] += 1  # already trained: acknowledged with the next checkpoint
                        continue
                    old = False
                self._last_raw = raw_id
                value = fields.get(key, fields.get(name)) if fields else None
                if value is None:  # no such field, or deleted from the stream while pending
                    self.counters["skipped"] += 1
                    continue
                if type(value) is str:  # decode_responses=True in the URL
                    value = value.encode()
                try:
                    text = value.decode()
                except UnicodeDecodeError:
                    text = value.decode("utf-8", "replace")
                    self.counters["decode_errors"] += 1
                self._entries += 1
                self._bytes += len(value)
                yield text
                if self._stopped:
                    return
