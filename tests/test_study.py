"""MOS study: the SQLite store (one vote per participant and image), the web app, the report's statistics."""

import sqlite3

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from scipy import stats

from inkwash.errors import InkwashError
from inkwash.study.report import mos_table, table_markdown
from inkwash.study.server import COOKIE, create_app
from inkwash.study.store import DuplicateVote, StudyStore, UnknownImage




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


def test_web_app_blind_random_order_one_vote_each(images, tmp_path):
    client = TestClient(create_app(images, tmp_path / "s.sqlite"))
    page = client.get("/")
    assert page.status_code == 200 and "Excellent" in page.text
    assert "paintstorch" not in page.text and "lazybrush" not in page.text and "http" not in page.text  # no CDN
    assert COOKIE in client.cookies
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
    stranger = TestClient(client.app)  # no cookie: must open the page first
    assert stranger.get("/api/next").status_code == 400
    assert stranger.post("/api/vote", json={"image": seen[0], "rating": 3}).status_code == 400
    stranger.get("/")
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
