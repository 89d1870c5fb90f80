"""Redis Streams as a source (issue 9), against a real redis-server.

Each test starts its own redis-server on a free loopback port, in a temporary
directory (Debian's ``redis-server``; ``.ci/run`` installs it). Without it, or
without the ``redis`` package, the tests fail under CI=true and are skipped
elsewhere. Entries are pushed in the Redis protocol over one socket (redis-py's
pipeline encodes some 15k entries/s; this is faster).

The invariant checked after every kill: the checkpoint's words_seen equals the
words of the entries up to its ``last_id``, and at the end equals every word pushed.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from redis_required import require_redis
from trainer_process import Trainer, trainers  # noqa: F401 (a fixture)

TIMEOUT = 60
WAIT = 20
TINY = ["--dim", "16", "--min-count", "2", "--window", "3"]
CMD = [sys.executable, "-m", "stream_w2v"]
KEY = "texts"
GROUP = "stream-w2v"


@pytest.fixture(autouse=True)
def _redis_available():
    require_redis()


# --- a redis-server of our own --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server on 127.0.0.1:port, data (if persistent: AOF, fsync always) in its own directory."""

    def __init__(self, directory, persistent=False):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.persistent = persistent
        self.proc = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--save", "", "--logfile", str(self.dir / "redis.log")]
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.command(b"PING") == b"+PONG\r\n":
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "redis.log").read_text() if (self.dir / "redis.log").exists() else ""
                raise AssertionError(f"redis-server did not start on port {self.port}:\n{log[-2000:]}")
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def command(self, *parts: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b" ".join(parts) + b"\r\n")
            return s.recv(65536)

    def client(self):
        import redis
        return redis.Redis(port=self.port)

    def push(self, texts, key=KEY, field="text") -> list[str]:
        """XADD each text (str or bytes) as {field: text}; their IDs, in order."""
        out = []
        k, f = key.encode(), field.encode()
        for t in texts:
            b = t if isinstance(t, bytes) else t.encode()
            out.append(b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                       % (len(k), k, len(f), f, len(b), b))
        ids, buf = [], b""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as s:
            s.sendall(b"".join(out))  # the server buffers its replies meanwhile
            while len(ids) < len(texts):
                data = s.recv(1 << 20)
                assert data, "redis-server closed the connection"
                buf += data
                while True:  # replies: "$<n>\r\n<id>\r\n" (or "-ERR ...\r\n")
                    head = buf.find(b"\r\n")
                    if head < 0:
                        break
                    assert buf[:1] == b"$", buf[:200]
                    n = int(buf[1:head])
                    if len(buf) < head + 2 + n + 2:
                        break
                    ids.append(buf[head + 2:head + 2 + n].decode())
                    buf = buf[head + 2 + n + 2:]
        return ids

    def pending(self, consumer=None, key=KEY, group=GROUP) -> list[str]:
        """IDs pending (delivered, not acknowledged) in the group, for one consumer or all."""
        rows = self.client().xpending_range(key, group, "-", "+", 10 ** 6, consumername=consumer)
        return [r["message_id"].decode() for r in rows]


@pytest.fixture
def servers():
    started = []
    yield lambda *a, **kw: started.append(RedisServer(*a, **kw)) or started[-1]
    for s in started:
        s.stop(signal.SIGKILL)


# --- the texts pushed -----------------------------------------------------------------------------

VOCAB = [f"w{i}" for i in range(300)]
WEIGHTS = [1 / (i + 1) for i in range(len(VOCAB))]


class Feed:
    """Numbered documents of 3..20 words, and the words of each entry ID pushed."""

    def __init__(self, server: RedisServer):
        self.server = server
        self.rng = random.Random(9)
        self.next = 0
        self.words = {}  # entry ID -> words

    def push(self, n: int) -> list[str]:
        texts = [f"n{self.next + i} " + " ".join(self.rng.choices(VOCAB, WEIGHTS, k=self.rng.randint(2, 19)))
                 for i in range(n)]
        self.next += n
        ids = self.server.push(texts)
        self.words.update(zip(ids, (len(t.split()) for t in texts)))
        return ids

    @property
    def total(self) -> int:
        return sum(self.words.values())

    @property
    def last_id(self) -> str:
        return max(self.words, key=id_key)

    def words_up_to(self, last_id) -> int:
        return sum(w for i, w in self.words.items() if last_id and id_key(i) <= id_key(last_id))


def id_key(entry_id: str):
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


# --- the trainer ----------------------------------------------------------------------------------


def run(*args, timeout=TIMEOUT):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def info(model_dir) -> dict:
    res = run("info", model_dir, "--json")
    assert res.returncode == 0, res.stderr.decode()
    return json.loads(res.stdout)


def peek(model_dir) -> dict | None:
    """The last checkpoint's counts and redis position, read in this process (cheap to poll)."""
    if not os.path.exists(os.path.join(model_dir, "CURRENT")):
        return None
    from stream_w2v.queries import load_model
    model, _ = load_model(str(model_dir))
    return {**model.stats, "source": model.extra["sources"][0]}


def wait_for(predicate, what: str, trainer=None, timeout=WAIT, every=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline or (trainer is not None and trainer.proc.poll() is not None):
            log = trainer.log.read_text()[-3000:] if trainer is not None else ""
            state = "" if trainer is None else f" (trainer exit status {trainer.proc.poll()})"
            raise AssertionError(f"timed out waiting for {what}{state}\n{log}")
        time.sleep(every)


def checkpoint_at(model_dir, test) -> dict | None:
    got = peek(model_dir)
    return got if got is not None and test(got["source"]["last_id"]) else None


def check_checkpoint(model_dir, feed: Feed) -> dict:
    """words_seen is exactly the words of the entries up to the checkpoint's last_id."""
    got = info(model_dir)
    last_id = got["sources"][0]["last_id"]
    assert got["words_seen"] == feed.words_up_to(last_id), (got["words_seen"], last_id)
    return got


# --- 1. SIGKILL mid-stream, restart: every entry trained exactly once -----------------------------


def test_sigkill_mid_stream_then_restart_trains_every_entry_once(tmp_path, servers, trainers):
    server = servers(tmp_path / "redis")
    feed = Feed(server)
    model_dir = tmp_path / "m"
    args = (tmp_path, model_dir, "--redis", server.url, "--stream", KEY, *TINY, "--log-json", "--log-every", "0")

    # A checkpoint, its entries acknowledged.
    feed.push(2000)  # pushed before the trainer starts: the new group starts at the stream's start
    t0 = trainers(*args, "--checkpoint-every", "0.3")
    wait_for(lambda: checkpoint_at(model_dir, lambda last: last == feed.last_id), "a first checkpoint", t0)
    assert t0.signal(signal.SIGTERM) == 0, t0.log.read_text()
    at_checkpoint = feed.total
    # Seconds of training (pushed first: how fast they are pushed does not matter), read by a
    # trainer whose next checkpoint is far away: kill -9 once it has trained a chunk past it.
    feed.push(60000)
    t1 = trainers(*args, "--checkpoint-every", "1000")
    wait_for(lambda: (ev := t1.events()) and ev[-1].get("words_seen", 0) > at_checkpoint,
             "the trainer to train past its checkpoint", t1, every=0.005)
    t1.proc.kill()
    assert t1.wait() == -signal.SIGKILL
    got = check_checkpoint(model_dir, feed)
    last_id, consumer = got["sources"][0]["last_id"], got["sources"][0]["consumer"]
    # Delivered to the killed trainer and not in its checkpoint: none acknowledged, all to come again.
    delivered = server.client().xinfo_groups(KEY)[0]["last-delivered-id"].decode()
    beyond = [i for i in feed.words if id_key(last_id) < id_key(i) <= id_key(delivered)]
    assert beyond, "the kill did not land mid-stream"
    assert set(beyond) <= set(server.pending(consumer))
    reported = max(e.get("words_seen", 0) for e in t1.events())
    assert got["words_seen"] == at_checkpoint < reported  # trained, not checkpointed: lost with the process

    feed.push(2000)
    t2 = trainers(*args, "--checkpoint-every", "0.3")  # no --consumer: the checkpoint's is kept
    wait_for(lambda: checkpoint_at(model_dir, lambda last: last == feed.last_id), "the restarted trainer to catch up", t2)
    assert t2.signal(signal.SIGTERM) == 0, t2.log.read_text()

    final = check_checkpoint(model_dir, feed)
    source = final["sources"][0]
    assert final["words_seen"] == feed.total
    assert source["consumer"] == consumer and source["redelivered"] == len(beyond)
    assert source["duplicates"] == 0 and source["skipped"] == 0
    assert server.pending() == []  # everything acknowledged, after the final checkpoint
    print(f"\nredis kill: {len(feed.words)} entries, {feed.total} words pushed; killed at checkpoint "
          f"{got['words_seen']} words (progress had reached {reported}), {len(beyond)} entries re-delivered; "
          f"final words_seen {final['words_seen']}")


# --- 2. the server goes away and comes back -------------------------------------------------------


def test_redis_server_stop_and_start_is_survived(tmp_path, servers, trainers):
    server = servers(tmp_path / "redis", persistent=True)
    feed = Feed(server)
    model_dir = tmp_path / "m"
    feed.push(30000)  # a backlog, so that the server goes away mid-stream
    t = trainers(tmp_path, model_dir, "--redis", server.url, "--stream", KEY, "--checkpoint-every", "0.3", *TINY,
                 "--log-json", "--log-every", "0.5")
    wait_for(lambda: checkpoint_at(model_dir, lambda last: last is not None), "a checkpoint", t, every=0.02)
    # 1. kill -9 of the server mid-stream; it comes back with its data (AOF, fsync always).
    server.stop(signal.SIGKILL)
    time.sleep(1.0)
    assert t.proc.poll() is None, t.log.read_text()
    server.start()
    feed.push(1000)
    wait_for(lambda: checkpoint_at(model_dir, lambda last: last == feed.last_id), "the trainer to catch up", t)
    check_checkpoint(model_dir, feed)
    # 2. the server comes back empty: the group is created again, new entries are read.
    server.stop()
    shutil.rmtree(server.dir)
    server.dir.mkdir()
    time.sleep(0.5)
    server.start()
    feed.push(1000)
    wait_for(lambda: checkpoint_at(model_dir, lambda last: last == feed.last_id), "the trainer to read the new server", t)
    assert t.signal(signal.SIGTERM) == 0, t.log.read_text()

    final = check_checkpoint(model_dir, feed)
    assert final["words_seen"] == feed.total
    assert final["sources"][0]["reconnects"] == 2 and final["sources"][0]["duplicates"] == 0
    notes = [e["event"] for e in t.events() if "event" in e and not e["event"].startswith("checkpoint")]
    assert any("unreachable" in n for n in notes) and any("is back" in n for n in notes), notes
    assert any("creating it again" in n for n in notes), notes
    assert server.pending() == []


# --- 3. the library source ------------------------------------------------------------------------


def take(source_iter, n):
    out = []
    for doc in source_iter:
        if doc is None:
            break
        out.append(doc)
        if len(out) == n:
            break
    return out


def test_library_source_batches_acknowledgement_and_recovery(tmp_path, servers):
    from stream_w2v.redis_source import RedisStreamSource
    server = servers(tmp_path / "redis")
    texts = [f"doc {i} " + "x " * (i % 5) for i in range(1000)]
    ids = server.push(texts[:500])
    server.push([b"bad \xff utf8"])
    server.push(["no text field"], field="other")
    ids += server.push(texts[500:])
    want = texts[:500] + ["bad \ufffd utf8"] + texts[500:]

    s1 = RedisStreamSource(server.url, KEY, consumer="c", count=100).open()
    docs1 = s1.documents()
    got = take(docs1, 1)
    assert len(server.pending("c")) == 100  # one bounded batch delivered, not the stream
    got += take(docs1, 249)
    checkpoint = s1.position()  # as saved with a checkpoint; then a crash before acknowledge()
    assert checkpoint["last_id"] == ids[249] and checkpoint["entries"] == 250
    s1.close()

    s2 = RedisStreamSource(server.url, KEY, consumer="c", count=100, start=checkpoint).open()
    # open() finished the crashed run's acknowledgement: only what the checkpoint lacks is pending.
    assert server.pending("c") == ids[250:300]
    docs2 = s2.documents()
    got += take(docs2, 10 ** 6)
    assert got == want
    pos = s2.position()
    assert pos["redelivered"] == 50 and pos["skipped"] == 1 and pos["decode_errors"] == 1
    assert len(server.pending("c")) == 1002 - 250
    assert s2.acknowledge(pos) and server.pending("c") == []

    # A reply lost in a connection break: its entries are pending, read again after the reconnect.
    import redis
    lost = server.push([f"lost {i}" for i in range(30)])
    real = s2._client.xreadgroup

    def read_then_break(*args, **kw):
        s2._client.xreadgroup = real
        real(*args, **kw)
        raise redis.ConnectionError("connection reset (test)")

    s2._client.xreadgroup = read_then_break
    assert next(docs2) is None  # nothing right now: the caller may train and checkpoint meanwhile
    assert take(docs2, 10 ** 6) == [f"lost {i}" for i in range(30)]
    pos = s2.position()
    assert pos["last_id"] == lost[-1] and pos["reconnects"] == 1 and pos["redelivered"] == 50 + 30
    assert s2.acknowledge(pos) and server.pending("c") == []

    # A server that delivers old entries again (here: the group rewound) trains nothing twice.
    server.client().xgroup_setid(KEY, GROUP, "0")
    assert take(docs2, 10 ** 6) == [] and s2.position()["duplicates"] == 1002 + 30
    assert s2.acknowledge() and server.pending("c") == []
    # A group that vanished is created again, after the last entry taken.
    server.client().xgroup_destroy(KEY, GROUP)
    more = server.push(["after the group came back"])
    assert take(docs2, 10 ** 6) == ["after the group came back"]
    assert s2.position()["last_id"] == more[0]
    s2.close()


# --- 4. one-line errors ---------------------------------------------------------------------------


def one_line_error(argv, capsys, *expected) -> str:
    """The command, run in this process (quicker than a child): exit 2 and one line on stderr."""
    from stream_w2v.cli import main
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("stream-w2v: "), err
    for text in expected:
        assert text in err, err
    return err


def test_user_errors(tmp_path, servers, capsys):
    server = servers(tmp_path / "redis")
    server.client().set("plain", "a string")
    m = str(tmp_path / "m")
    one_line_error(["train", m, "--redis", "http://127.0.0.1:6379", "--stream", KEY], capsys, "bad Redis URL",
                   "redis://")
    one_line_error(["train", m, "--redis", f"redis://127.0.0.1:{free_port()}", "--stream", KEY], capsys,
                   "cannot connect to Redis", "Connection refused")
    err = one_line_error(["train", m, "--redis", "redis://:secret@127.0.0.1:1/0", "--stream", KEY], capsys, ":***@")
    assert "secret" not in err
    one_line_error(["train", m, "--redis", server.url, "--stream", "plain"], capsys, "'plain'", "other than a stream")
    one_line_error(["train", m, "--redis", server.url], capsys, "--redis needs --stream")
    one_line_error(["train", m, "--stream", KEY], capsys, "--stream needs --redis")
    one_line_error(["train", m, "--redis", server.url, "--stream", KEY, "--epochs", "2"], capsys, "--epochs")
    assert not os.path.exists(m)  # a refused command leaves no directory behind
