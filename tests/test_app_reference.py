"""The web app's reference: /api/colorize colours a page from a coloured reference (hints win), /api/reference
gives its palette, a reference is read once per content, and bad reference uploads get one-line JSON errors."""

import base64
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from test_app import assert_error, client, files, png  # noqa: F401  (the app fixture, shared)

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

N = 120  # px, a 3 x 3 grid of cells inside a frame
CELLS = [(200, 60, 50), (60, 120, 220), (250, 210, 60), (90, 180, 90), (240, 160, 200), (150, 90, 50),
         (120, 60, 160), (250, 140, 40), (60, 120, 220)]  # the last repeats the second: 8 distinct colours


def grid() -> tuple[np.ndarray, np.ndarray]:
    """(lines (N,N) uint8, 0 = ink, coloured (N,N,3) uint8: the cells filled, the lines drawn over them)."""
    lines = np.full((N, N), 255, np.uint8)
    for k in range(4):
        p = 10 + k * 33
        cv2.line(lines, (p, 10), (p, 109), 0, 2)
        cv2.line(lines, (10, p), (109, p), 0, 2)
    coloured = np.full((N, N, 3), 255, np.uint8)
    for i, c in enumerate(CELLS):
        x, y = 10 + (i % 3) * 33, 10 + (i // 3) * 33
        coloured[y:y + 33, x:x + 33] = c
    coloured[lines == 0] = 0
    return lines, coloured


def centre(i: int) -> tuple[int, int]:
    """(y, x) of cell i's centre."""
    return 26 + (i // 3) * 33, 26 + (i % 3) * 33


def flat_of(r) -> np.ndarray:
    assert r.status_code == 200, r.text
    url = r.json()["flat"]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


@pytest.mark.parametrize("given_lines", [True, False])
def test_a_page_coloured_from_its_coloured_copy_takes_its_colours(client, given_lines):  # noqa: F811
    lines, coloured = grid()
    parts = dict(lineart=png(lines), reference=png(coloured))
    if given_lines:
        parts["reference_lineart"] = png(lines)
    r = client.post("/api/colorize", files=files(**parts), data={"output": "layers"})
    flat = flat_of(r)
    for i, c in enumerate(CELLS):
        assert tuple(flat[centre(i)]) == c, i
    assert r.headers["x-inkwash-reference"] == "matched=9;unmatched=0"
    assert r.json()["reference"] == {"matched": 9, "unmatched": 0}
    plain = client.post("/api/colorize", files=files(lineart=png(lines)))
    assert "x-inkwash-reference" not in plain.headers


def test_a_hint_wins_over_the_match_and_the_reference_is_read_once(client):  # noqa: F811
    lines, coloured = grid()
    hints = np.zeros((N, N, 4), np.uint8)
    y, x = centre(4)
    hints[y - 3:y + 3, x - 3:x + 3] = (20, 20, 20, 255)
    for _ in range(2):
        r = client.post("/api/colorize", files=files(lineart=png(lines), reference=png(coloured),
                                                     hints=png(hints, "RGBA")), data={"output": "layers"})
        flat = flat_of(r)
        assert tuple(flat[centre(4)]) == (20, 20, 20)  # the hinted cell
        assert all(tuple(flat[centre(i)]) == CELLS[i] for i in range(9) if i != 4)  # the others: the reference
    assert client.app.state.references.misses == 1  # the second stroke reused the first's reference
    composite = client.post("/api/colorize", files=files(lineart=png(lines), reference=png(coloured)))
    assert composite.headers["content-type"] == "image/png" and "matched=" in composite.headers["x-inkwash-reference"]


def test_reference_endpoint_gives_its_palette(client):  # noqa: F811
    lines, coloured = grid()
    r = client.post("/api/reference", files=files(reference=png(coloured), reference_lineart=png(lines)))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"], body["regions"]) == (N, N, 10)  # 9 cells and the paper around
    got = {row["colour"]: row for row in body["palette"]}
    want = {"#%02x%02x%02x" % c for c in CELLS} | {"#ffffff"}
    assert set(got) == want
    assert got["#3c78dc"]["regions"] == 2  # the repeated colour: one swatch for both cells
    assert abs(sum(row["share"] for row in body["palette"]) - 1.0) < 1e-3
    assert body["palette"][0]["colour"] == "#ffffff"  # largest first: the paper around the grid
    assert got["#3c78dc"]["share"] == pytest.approx(2 * got["#c83c32"]["share"], rel=0.05)


def test_bad_reference_uploads_get_clear_json_errors(client):  # noqa: F811
    lines, coloured = grid()
    good = png(coloured)
    cases = [
        (dict(lineart=png(lines), reference=b"\x89PNG\r\n\x1a\n" + good[8:60]), 400, "corrupt_image", "reference"),
        (dict(lineart=png(lines), reference=("r.txt", good, "text/plain")), 415, "unsupported_media_type",
         "reference"),
        (dict(lineart=png(lines), reference=b"GIF89a nope"), 415, "unsupported_image", "reference"),
        (dict(lineart=png(lines), reference=png(np.zeros((500, 500, 3), np.uint8))), 413, "too_many_pixels",
         "reference"),
        (dict(lineart=png(lines), reference_lineart=png(lines)), 400, "bad_field", "reference too"),
        (dict(lineart=png(lines), reference=good, reference_lineart=png(np.full((20, 90), 255, np.uint8))), 400,
         "bad_input", "does not match"),
        (dict(lineart=png(lines), reference=png(np.full((N, N, 3), 255, np.uint8))), 400, "bad_input",
         "no lines found"),
    ]
    for parts, status, code, words in cases:
        r = client.post("/api/colorize", files=files(**parts))
        assert_error(r, status, code, words)
        assert "\n" not in r.json()["error"]["message"]
    assert_error(client.post("/api/reference", files=files(reference=b"\x89PNG\r\n\x1a\n" + good[8:60])), 400,
                 "corrupt_image", "reference")
    assert_error(client.post("/api/reference", files=files(lineart=png(lines))), 400, "unknown_field", "lineart")
    assert_error(client.post("/api/reference", data={"gap": "4"}), 415, "unsupported_media_type")
    assert_error(client.post("/api/reference", files=files(reference_lineart=png(lines))), 400, "missing_reference")
