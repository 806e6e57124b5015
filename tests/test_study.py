"""MOS study: the SQLite store (one vote per participant and image), the web app, the report's statistics."""

import io
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from scipy import stats

from inkwash.errors import InkwashError
from inkwash.study.report import mos_table, table_markdown
from inkwash.study.server import COOKIE, StudyConfig, create_app
from inkwash.study.store import DuplicateVote, StudyStore, UnknownImage

NO_WAIT = StudyConfig(min_vote_seconds=0.0)  # tests vote back to back; the minimum gap has its own test


@pytest.fixture
def images(tmp_path):
    """tmp/images/{paintstorch,lazybrush}/{a,b}.png"""
    root = tmp_path / "images"
    for method, colour in (("paintstorch", (200, 40, 40)), ("lazybrush", (40, 40, 200))):
        (root / method / "sub").mkdir(parents=True)
        Image.new("RGB", (8, 8), colour).save(root / method / "a.png")
        Image.new("RGB", (8, 8), colour).save(root / method / "sub" / "b.png")
    return root


def test_store_rejects_duplicate_votes_and_bad_input(images, tmp_path):
    store = StudyStore(tmp_path / "s.sqlite")
    assert store.sync_images(images) == 4
    token, rated, total = store.next_image("p1")
    assert (rated, total) == (0, 4)
    store.add_vote("p1", token, 4)
    with pytest.raises(DuplicateVote):
        store.add_vote("p1", token, 2)
    store.add_vote("p2", token, 2)  # another participant may rate it
    for bad in (0, 6, 3.5, True, "5"):
        with pytest.raises(InkwashError, match="1 to 5"):
            store.add_vote("p3", token, bad)
    with pytest.raises(UnknownImage):
        store.add_vote("p3", "nope", 3)
    with sqlite3.connect(tmp_path / "s.sqlite") as db:  # the database itself refuses duplicates too
        image_id = db.execute("SELECT image_id FROM votes LIMIT 1").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO votes VALUES ('p1', ?, 3, 'now')", (image_id,))
    assert store.counts() == {"images": 4, "votes": 2, "participants": 2}
    assert StudyStore(tmp_path / "s.sqlite").sync_images(images) == 4  # re-syncing keeps tokens and votes
    assert store.image(token)[1:] in {("paintstorch", "a.png"), ("paintstorch", "sub/b.png"),
                                      ("lazybrush", "a.png"), ("lazybrush", "sub/b.png")}


def local_client(app) -> TestClient:
    """A client as a browser on this machine sees the server (Host 127.0.0.1), its participant started."""
    client = TestClient(app, base_url="http://127.0.0.1")
    assert client.post("/api/start").status_code == 200
    return client


def test_web_app_blind_random_order_one_vote_each(images, tmp_path):
    client = TestClient(create_app(images, tmp_path / "s.sqlite", config=NO_WAIT),
                        base_url="http://127.0.0.1")
    page = client.get("/")
    assert page.status_code == 200 and "Excellent" in page.text
    assert "paintstorch" not in page.text and "lazybrush" not in page.text and "http" not in page.text  # no CDN
    assert COOKIE not in client.cookies  # the page itself makes nobody a participant
    assert client.post("/api/start").json() == {"ok": True, "new": True} and COOKIE in client.cookies
    seen = []
    while True:
        nxt = client.get("/api/next").json()
        if nxt["image"] is None:
            break
        token = nxt["image"]
        assert "paintstorch" not in token and "lazybrush" not in token and ".png" not in token
        img = client.get(f"/img/{token}")
        assert img.status_code == 200 and img.content[:4] == b"\x89PNG"
        assert client.post("/api/vote", json={"image": token, "rating": 5}).status_code == 200
        assert client.post("/api/vote", json={"image": token, "rating": 1}).status_code == 409
        seen.append(token)
    assert len(set(seen)) == 4 and nxt == {"image": None, "rated": 4, "total": 4}
    assert client.post("/api/vote", json={"image": seen[0], "rating": 7}).status_code == 422
    assert client.post("/api/vote", json={"image": "unknown", "rating": 3}).status_code == 404
    assert client.get("/img/unknown").status_code == 404
    stranger = TestClient(client.app, base_url="http://127.0.0.1")  # no participant: must start one first
    assert stranger.get("/api/next").status_code == 401
    assert stranger.post("/api/vote", json={"image": seen[0], "rating": 3}).status_code == 401
    stranger.post("/api/start")
    assert stranger.get("/api/next").json()["rated"] == 0  # a new participant starts afresh


def test_report_numbers_match_scipy(images, tmp_path, cli):
    db = tmp_path / "s.sqlite"
    store = StudyStore(db)
    store.sync_images(images)
    with sqlite3.connect(db) as con:
        tokens = {(m, n): t for t, m, n in con.execute("SELECT token, method, name FROM images")}
    votes = {"paintstorch": [5, 4, 4, 5, 3, 4], "lazybrush": [2, 3, 1, 2, 2, 3]}
    for method, ratings in votes.items():
        for i, r in enumerate(ratings):  # 3 participants x 2 images
            store.add_vote(f"p{i // 2}", tokens[(method, ["a.png", "sub/b.png"][i % 2])], r)
    rows = mos_table(store.ratings())
    assert [r["method"] for r in rows] == ["paintstorch", "lazybrush"]
    best, other = rows
    assert best["mos"] == pytest.approx(np.mean(votes["paintstorch"]))
    assert best["std"] == pytest.approx(np.std(votes["paintstorch"], ddof=1))
    assert np.isnan(best["p_value"]) and other["reference"] == "paintstorch"
    expected = stats.ttest_ind(votes["lazybrush"], votes["paintstorch"], equal_var=False).pvalue
    assert other["p_value"] == pytest.approx(expected, rel=1e-12)
    assert other["mos"] == pytest.approx(13 / 6) and other["n"] == 6
    assert f"{expected:.2e}" in table_markdown(rows)
    ref = mos_table(store.ratings(), reference="lazybrush")
    assert np.isnan(next(r for r in ref if r["method"] == "lazybrush")["p_value"])

    code, out, err = cli(["study", "report", "--db", str(db), "-o", str(tmp_path / "rep")])
    assert code == 0, err
    assert "| **paintstorch** | 6 | 4.17 | 0.75 |" in out and "3 participants, 12 votes" in err
    assert (tmp_path / "rep" / "mos.csv").read_text().splitlines()[0] == "method,n,mos,std,p_value,reference"
    assert "# MOS study" in (tmp_path / "rep" / "mos.md").read_text()


def test_cli_bad_inputs_exit_2_with_one_line(tmp_path, cli):
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database at all")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    empty = tmp_path / "empty"
    empty.mkdir()
    Image.new("RGB", (4, 4)).save(empty / "loose.png")
    cases = [
        (["study", "report", "--db", str(tmp_path / "absent.sqlite")], "no such study database"),
        (["study", "report", "--db", str(junk)], "not an inkwash study database"),
        (["study", "report", "--db", str(other)], "not an inkwash study database"),
        (["study", "serve", "--images", str(tmp_path / "nope"), "--db", str(tmp_path / "s.sqlite")], "no such folder"),
        (["study", "serve", "--images", str(empty), "--db", str(tmp_path / "s.sqlite")], "method subfolders"),
    ]
    for args, message in cases:
        code, _, err = cli(args)
        assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1 and message in err, err
    StudyStore(tmp_path / "fresh.sqlite")
    code, _, err = cli(["study", "report", "--db", str(tmp_path / "fresh.sqlite")])
    assert code == 2 and "no votes yet" in err
    with sqlite3.connect(other) as con:  # a foreign database is never altered
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["t"]


# ------------------------------------------------------------------------- hardening (issue #20)
def noisy_and_flat(tmp_path):
    """tmp/images/{flat,noisy}/a.png: one method's image compresses ~1000x better than the other's."""
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    (root / "flat").mkdir(parents=True)
    (root / "noisy").mkdir(parents=True)
    Image.new("RGB", (48, 40), (200, 40, 40)).save(root / "flat" / "a.png")
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(root / "noisy" / "a.png",
                                                                           pnginfo=_text_chunk())
    Image.new("RGBA", (48, 40), (10, 200, 40, 255)).save(root / "flat" / "b.png")
    return root


def _text_chunk():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", "noisy-method 1.0")
    return info


def png_chunks(data: bytes) -> list[bytes]:
    pos, kinds = 8, []
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kinds.append(data[pos + 4:pos + 8])
        pos += 12 + n
    return kinds


def test_images_are_served_without_anything_that_tells_the_method(tmp_path):
    import os

    root = noisy_and_flat(tmp_path)
    os.utime(root / "flat" / "a.png", (1_000_000_000, 1_000_000_000))  # file dates differ by method too
    assert (root / "noisy" / "a.png").stat().st_size > 20 * (root / "flat" / "a.png").stat().st_size
    client = local_client(create_app(root, tmp_path / "s.sqlite", config=NO_WAIT))
    served = {}
    with sqlite3.connect(tmp_path / "s.sqlite") as con:
        for token, method, name in con.execute("SELECT token, method, name FROM images"):
            r = client.get(f"/img/{token}")
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            assert "last-modified" not in r.headers and "etag" not in r.headers
            assert png_chunks(r.content)[0] == b"IHDR" and set(png_chunks(r.content)) == {b"IHDR", b"IDAT", b"IEND"}
            original = np.asarray(Image.open(root / method / name).convert("RGB"))
            assert np.array_equal(np.asarray(Image.open(io.BytesIO(r.content))), original)  # pixels untouched
            served[(method, name)] = r
    lengths = {len(r.content) for r in served.values()}
    assert len(lengths) == 1, lengths  # same size -> same length, whatever the content or the method
    assert {r.headers["content-length"] for r in served.values()} == {str(lengths.pop())}


def test_only_server_issued_participants_count(images, tmp_path):
    app = create_app(images, tmp_path / "s.sqlite", config=NO_WAIT)
    good = local_client(app)
    pid, sig = good.cookies[COOKIE].split(".")
    token = good.get("/api/next").json()["image"]
    other_db = StudyStore(tmp_path / "other.sqlite")  # a valid signature under another study's secret
    from inkwash.study.server import sign

    forged = [uuid.uuid4().hex,  # the old cookie format: any 32 hex digits
              f"{uuid.uuid4().hex}.{sig}",  # somebody else's signature
              f"{pid}.{'0' * 32}",  # a real id, a made-up signature
              sign(other_db.secret(), pid),
              sign(StudyStore(tmp_path / "s.sqlite").secret(), uuid.uuid4().hex)]  # signed, but never issued
    for cookie in forged:
        c = TestClient(app, base_url="http://127.0.0.1", cookies={COOKIE: cookie})
        assert c.get("/api/next").status_code == 401, cookie
        assert c.post("/api/vote", json={"image": token, "rating": 5}).status_code == 401
        assert c.get(f"/img/{token}").status_code == 401
    assert good.post("/api/vote", json={"image": token, "rating": 5}).status_code == 200
    assert good.post("/api/start").json() == {"ok": True, "new": False}  # a reload keeps the participant
    assert StudyStore(tmp_path / "s.sqlite").counts()["participants"] == 1


def test_new_participants_are_rate_limited_per_address(images, tmp_path):
    app = create_app(images, tmp_path / "s.sqlite", config=StudyConfig(start_burst=3, starts_per_hour=1))
    codes = [TestClient(app, base_url="http://127.0.0.1").post("/api/start").status_code for _ in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]
    assert len(StudyStore(tmp_path / "s.sqlite").participants()) == 3


def test_ratings_must_be_integers_from_1_to_5(images, tmp_path):
    client = local_client(create_app(images, tmp_path / "s.sqlite", config=NO_WAIT))
    token = client.get("/api/next").json()["image"]
    for bad in (True, False, 1.0, 3.0, "3", 3.5, None, 0, 6, -1, [3], {"r": 3}, 10**30):
        r = client.post("/api/vote", json={"image": token, "rating": bad})
        assert r.status_code == 422, (bad, r.status_code)
        assert r.json()["error"]["code"] == "bad_vote"
    assert client.post("/api/vote", json={"image": token, "rating": 3, "extra": 1}).status_code == 422
    assert client.post("/api/vote", json={"image": 5, "rating": 3}).status_code == 422
    assert client.post("/api/vote", content=b"[" * 500 + b"]" * 500,
                       headers={"content-type": "application/json"}).status_code == 422
    assert StudyStore(tmp_path / "s.sqlite").counts()["votes"] == 0
    assert client.post("/api/vote", json={"image": token, "rating": 3}).status_code == 200
    assert StudyStore(tmp_path / "s.sqlite").ratings() in ({"paintstorch": [3]}, {"lazybrush": [3]})


def test_votes_faster_than_a_person_can_look_are_refused(images, tmp_path):
    client = local_client(create_app(images, tmp_path / "s.sqlite", config=StudyConfig(min_vote_seconds=60)))
    first = client.get("/api/next").json()["image"]
    assert client.post("/api/vote", json={"image": first, "rating": 4}).status_code == 200
    second = client.get("/api/next").json()["image"]
    r = client.post("/api/vote", json={"image": second, "rating": 4})
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_fast"
    assert StudyStore(tmp_path / "s.sqlite").counts()["votes"] == 1


def test_host_origin_and_security_headers_on_every_response(images, tmp_path):
    app = create_app(images, tmp_path / "s.sqlite", config=NO_WAIT)
    client = local_client(app)
    token = client.get("/api/next").json()["image"]
    responses = {
        "page": client.get("/"),
        "missing": client.get("/no-such-page"),
        "bad vote": client.post("/api/vote", json={"image": token, "rating": "5"}),
        "rebound host": client.get("/", headers={"host": "attacker.example"}),
        "foreign origin": client.post("/api/vote", json={"image": token, "rating": 5},
                                      headers={"origin": "http://attacker.example"}),
        "cross-site fetch": client.post("/api/start", headers={"sec-fetch-site": "cross-site"}),
        "too large": client.post("/api/vote", content=b"x" * 5000, headers={"content-type": "application/json"}),
    }
    expected = {"page": 200, "missing": 404, "bad vote": 422, "rebound host": 400, "foreign origin": 403,
                "cross-site fetch": 403, "too large": 413}
    assert {k: r.status_code for k, r in responses.items()} == expected
    for name, r in responses.items():
        assert r.headers["x-content-type-options"] == "nosniff", name
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer", name
        assert "default-src 'none'" in r.headers["content-security-policy"], name
        assert r.headers["cache-control"] == "no-store", name
    csp = responses["page"].headers["content-security-policy"]
    assert "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    assert client.post("/api/vote", json={"image": token, "rating": 5},
                       headers={"origin": "http://127.0.0.1"}).status_code == 200  # its own page may vote
    anywhere = create_app(images, tmp_path / "s.sqlite", config=StudyConfig(allowed_hosts=("*",)))
    assert TestClient(anywhere, base_url="http://study.lan:8000").get("/").status_code == 200


def put_votes(db, pid, token_list, start, gap):
    """Votes of `pid` on the tokens, `gap` seconds apart from `start` (a datetime), written as the store does."""
    with sqlite3.connect(db) as con:
        for i, token in enumerate(token_list):
            image_id = con.execute("SELECT id FROM images WHERE token = ?", (token,)).fetchone()[0]
            created = (start + timedelta(seconds=i * gap)).isoformat()
            con.execute("INSERT INTO votes VALUES (?, ?, ?, ?)", (pid, image_id, 5 if "s" in pid else 3, created))


def test_report_flags_ballot_stuffing_and_can_leave_it_out(images, tmp_path, cli):
    from inkwash.study.report import flag_participants

    db = tmp_path / "s.sqlite"
    store = StudyStore(db)
    store.sync_images(images)
    with sqlite3.connect(db) as con:
        tokens = [t for (t,) in con.execute("SELECT token FROM images ORDER BY id")]
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    lab, home, bot = store.client_key("10.0.0.1"), store.client_key("10.0.0.2"), store.client_key("10.0.0.3")
    with sqlite3.connect(db) as con:
        def person(pid, client, start):
            con.execute("INSERT INTO participants VALUES (?, ?, ?)", (pid, start.isoformat(), client))
        # one lab machine, three people one after another, 20 s per image: never flagged
        for i in range(3):
            person(f"lab{i}", lab, t0 + timedelta(minutes=10 * i))
        # two people sharing a home address at the same time: allowed
        person("home0", home, t0)
        person("home1", home, t0)
        # a script: one address, five identities at once, and one identity voting at 30 per second
        for i in range(5):
            person(f"bots{i}", bot, t0 + timedelta(seconds=i))
        person("fasts", home, t0 + timedelta(hours=5))
    for i in range(3):
        put_votes(db, f"lab{i}", tokens, t0 + timedelta(minutes=10 * i, seconds=5), 20)
    put_votes(db, "home0", tokens, t0 + timedelta(seconds=5), 15)
    put_votes(db, "home1", tokens, t0 + timedelta(seconds=7), 12)
    for i in range(5):
        put_votes(db, f"bots{i}", tokens, t0 + timedelta(seconds=i + 2), 5)
    put_votes(db, "fasts", tokens, t0 + timedelta(hours=5, seconds=1), 0.03)
    flags = flag_participants(store.votes(), store.participants())
    assert set(flags) == {f"bots{i}" for i in range(5)} | {"fasts"}
    assert all(r.startswith("parallel: 5 sessions") for i in range(5) for r in flags[f"bots{i}"])
    assert flags["fasts"] == ["fast: median 0.03 s between votes"]

    code, out, err = cli(["study", "report", "--db", str(db), "-o", str(tmp_path / "rep")])
    assert code == 0 and "6 participants flagged" in err and "included" in err, err
    assert "11 participants, 44 votes" in err
    assert "| 4.09 |" in out  # the stuffed 5s lift the mean from 3 to (20 * 3 + 24 * 5) / 44
    code, out, err = cli(["study", "report", "--db", str(db), "--exclude-flagged", "-o", str(tmp_path / "rep")])
    assert code == 0 and "5 participants, 20 votes" in err and "left out" in err, err
    assert "| 3.00 |" in out  # only the honest 3s remain
    flagged_csv = (tmp_path / "rep" / "flagged.csv").read_text().splitlines()
    assert flagged_csv[0] == "participant,reasons,excluded" and len(flagged_csv) == 7
    assert "left out" in (tmp_path / "rep" / "mos.md").read_text()


def test_a_version_1_database_is_upgraded_and_keeps_its_votes(images, tmp_path):
    db = tmp_path / "s.sqlite"
    store = StudyStore(db)
    store.sync_images(images)
    token = store.next_image("old-cookie")[0]
    store.add_vote("old-cookie", token, 4)
    with sqlite3.connect(db) as con:  # what inkwash-study/1 files look like
        con.execute("DROP TABLE participants")
        con.execute("DELETE FROM meta WHERE key = 'secret'")
        con.execute("UPDATE meta SET value = 'inkwash-study/1' WHERE key = 'schema'")
    again = StudyStore(db, create=False)
    assert again.counts() == {"images": 4, "votes": 1, "participants": 1}
    assert len(again.secret()) == 32 and again.participants() == []
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "inkwash-study/2"


@pytest.mark.slow
def test_the_page_works_in_a_browser_under_its_strict_csp(tmp_path):
    """Headless Chromium, CSP not bypassed: the page starts a participant, shows images, takes key votes."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    chromium = os.environ.get("INKWASH_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.skip(f"no Chromium at {chromium}: apt-get install -y chromium (or set INKWASH_CHROMIUM)")
    root = noisy_and_flat(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "inkwash", "study", "serve", "--images", str(root), "--db",
                             str(tmp_path / "s.sqlite"), "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.2)
        with sync_api.sync_playwright() as p:
            try:
                browser = p.chromium.launch(executable_path=chromium, timeout=60_000, args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
            except Exception as exc:  # noqa: BLE001
                pytest.skip(f"Chromium cannot start here: {str(exc).splitlines()[0]}")
            page = browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(url)
            progress = page.locator("#progress")
            for rated, key in ((0, "4"), (1, "2"), (2, "5")):
                sync_api.expect(progress).to_have_text(f"{rated} of 3 rated", timeout=30_000)
                sync_api.expect(page.locator("#scale button").first).to_be_enabled(timeout=30_000)
                time.sleep(0.6)  # the server's minimum time between one person's votes
                page.keyboard.press(key)
            sync_api.expect(page.locator("#done")).to_be_visible(timeout=30_000)
            browser.close()
        assert problems == []  # no CSP violation, no script error
        store = StudyStore(tmp_path / "s.sqlite")
        assert store.counts() == {"images": 3, "votes": 3, "participants": 1}
        assert sorted(r for rs in store.ratings().values() for r in rs) == [2, 4, 5]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
