"""The model contract and the pipeline: layering without cycles, one registry, a toy model plugged in with one
spec, the pipeline's stages alone, and the bugs the restructuring fixed (each failed before it)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inkwash.canvas import to_canvas
from inkwash.errors import InkwashError
from inkwash.infer import Colorizer, finish, paint, prepare
from inkwash.models import registry
from inkwash.models.spec import Capabilities, ModelSpec

SRC = Path(__file__).resolve().parents[1] / "src"

# who may import whom: a module of the left group never imports one of the right
LAYERS = {
    ("inkwash.errors", "inkwash.io", "inkwash.lineart", "inkwash.hints", "inkwash.canvas", "inkwash.diffusion",
     "inkwash.losses", "inkwash.data", "inkwash.classical", "inkwash.regions"):
        ("inkwash.models", "inkwash.infer", "inkwash.train", "inkwash.export", "inkwash.app", "inkwash.cli",
         "inkwash.evaluate", "inkwash.study", "inkwash.publish"),
    ("inkwash.models",): ("inkwash.infer", "inkwash.train", "inkwash.export", "inkwash.app", "inkwash.cli",
                          "inkwash.evaluate", "inkwash.study", "inkwash.publish"),
    ("inkwash.train",): ("inkwash.infer", "inkwash.export", "inkwash.app", "inkwash.cli", "inkwash.evaluate"),
    ("inkwash.infer",): ("inkwash.export", "inkwash.app", "inkwash.cli", "inkwash.evaluate", "inkwash.train"),
    ("inkwash.export", "inkwash.evaluate"): ("inkwash.app", "inkwash.cli"),
}


def module_imports() -> dict[str, set[str]]:
    """Every inkwash module -> the inkwash modules it imports (top level and inside functions)."""
    mods = {}
    for path in (SRC / "inkwash").rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        mods[name] = path
    edges = {}
    for name, path in mods.items():
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                found |= {base} | {f"{base}.{a.name}" for a in node.names}
        edges[name] = {f for f in found if f.startswith("inkwash")}
    return edges


def within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_lower_layers_never_import_higher_ones():
    bad = [f"{m} imports {i}" for m, imports in module_imports().items() for lower, higher in LAYERS.items()
           if within(m, lower) for i in imports if within(i, higher)]
    assert bad == []


def test_no_import_cycles():
    edges = module_imports()

    def owner(name: str) -> str | None:  # "inkwash.models.registry.get" -> "inkwash.models.registry"
        while name and name not in edges:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: {o for i in imports if (o := owner(i)) and o != m and not m.startswith(o + ".")}
             for m, imports in edges.items()}
    state, cycles = {}, []

    def visit(m: str, path: list[str]) -> None:
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(path[path.index(n):] + [n] if n in path else [m, n])
            elif n not in state:
                visit(n, path + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


# ---------------------------------------------------------------- a toy model: one spec, nothing else


class Posterize:
    """A toy model: paints every pixel the colour of the nearest hint (no weights, full resolution)."""

    resolution, multiple, hint_scale, lines_over = None, 1, 1, True

    def __init__(self, weights=None, levels: int = 2):
        self.levels = int(levels)

    def run(self, canvas, seed=None):
        hinted = canvas.hints[..., 3] > 0
        if not hinted.any():
            return np.ones(canvas.lines.shape + (3,), np.float32)
        ys, xs = np.nonzero(hinted)
        yy, xx = np.mgrid[: canvas.lines.shape[0], : canvas.lines.shape[1]]
        near = np.argmin((yy[..., None] - ys) ** 2 + (xx[..., None] - xs) ** 2, axis=-1)
        return canvas.hints[ys[near], xs[near], :3]


@pytest.fixture
def toy():
    spec = registry.register(ModelSpec("toy", "nearest hint colour everywhere", opener=Posterize,
                                       options=("levels",), capabilities=Capabilities(trainable=False,
                                                                                        weights="none")))
    yield spec
    registry.unregister("toy")


def lines_and_strokes(tmp_path, h=48, w=64):
    lines = np.full((h, w), 255, np.uint8)
    cv2.rectangle(lines, (8, 8), (40, 40), 0, 2)
    Image.fromarray(lines).save(tmp_path / "l.png")
    (tmp_path / "l.hints.json").write_text(json.dumps({"strokes": [{"color": "#00ff00", "width": 4,
                                                                     "points": [[20, 20], [28, 28]]}]}))
    return tmp_path / "l.png", tmp_path / "l.hints.json"


def test_a_toy_model_plugs_in_with_one_spec(toy, tmp_path, cli):
    lines, hints = lines_and_strokes(tmp_path)
    code, _, err = cli(["colorize", str(lines), "--hints", str(hints), "--model", "toy", "-o", str(tmp_path / "o.png")])
    assert code == 0, err
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert (out[24, 24] == [0, 255, 0]).all() and out[8, 20].max() < 10  # its colour, the lines over it
    with pytest.raises(InkwashError, match="unknown option"):
        Colorizer.from_pretrained("toy", colour="red")
    assert "toy" in registry.names(trainable=False) and "toy" not in registry.names(trainable=True)


def test_the_stages_work_alone(tmp_path):
    lines, hints = lines_and_strokes(tmp_path)
    inputs = prepare(lines, hints)
    assert inputs.lines.shape == (48, 64) and inputs.hints.shape == (48, 64, 4) and inputs.mask is None
    canvas = to_canvas(inputs.lines, inputs.hints, resolution=32, multiple=16, hint_scale=4)
    assert canvas.lines.shape == (32, 48) and canvas.hints.shape == (8, 12, 4) and canvas.content == (32, 43)
    colour = np.full((48, 64, 3), 0.5, np.float32)
    layers = finish(inputs, colour, lines_over=True, paints_lines=False)
    assert np.allclose(layers["composite"], 0.5 * inputs.lines[..., None])
    model = Colorizer.from_pretrained("lazybrush").model
    flat = paint(model, inputs)
    assert flat.shape == (48, 64, 3) and (flat[24, 24] == [0, 1, 0]).all()


# ---------------------------------------------------------------- bugs fixed on the way


def test_an_onnx_file_loads_in_a_fresh_process(tiny_run, tmp_path):
    pytest.importorskip("onnxruntime")
    from inkwash.cli import main

    try:
        main(["export", "--model", str(tiny_run), "-o", str(tmp_path / "m.onnx"), "--check", "64x64",
              "--exporter", "legacy"])
    except SystemExit as exc:
        assert not exc.code
    lines, hints = lines_and_strokes(tmp_path)
    api = ("from inkwash import Colorizer\n"
           f"c = Colorizer.from_pretrained({str(tmp_path / 'm.onnx')!r})\n"
           f"print(c.name, c.colorize({str(lines)!r}, {str(hints)!r}).size)\n")
    done = subprocess.run([sys.executable, "-c", api], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["paintstorch", "(64,", "48)"], done.stderr
    done = subprocess.run([sys.executable, "-m", "inkwash", "colorize", str(lines), "--hints", str(hints), "--model",
                           str(tmp_path / "m.onnx"), "-o", str(tmp_path / "o.png")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "o.png").size == (64, 48)


def test_a_base_of_another_size_is_refused(tmp_path, run):
    lines, hints = lines_and_strokes(tmp_path)
    Image.new("RGB", (128, 96), "red").save(tmp_path / "base.png")  # same aspect, other size
    Image.new("L", (64, 48), 255).save(tmp_path / "mask.png")
    code, err = run(["colorize", str(lines), "--hints", str(hints), "--mask", str(tmp_path / "mask.png"), "--base",
                     str(tmp_path / "base.png"), "--method", "lazybrush", "-o", str(tmp_path / "o.png")])
    assert code == 2 and "128x96 is not the lineart's 64x48" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_input_errors_come_before_the_model_loads(tmp_path, run):
    opened = []
    spec = registry.register(ModelSpec("_records", "records loads", opener=lambda w, **o: opened.append(w),
                                       capabilities=Capabilities(trainable=False, weights="none")))
    try:
        lines, _ = lines_and_strokes(tmp_path)
        for args in (["colorize", str(tmp_path / "missing.png")],
                     ["colorize", str(lines), "--hints", str(tmp_path / "missing.json")],
                     ["colorize", str(lines), "--mask", str(tmp_path / "missing.png")]):
            code, err = run([*args, "--model", spec.name, "-o", str(tmp_path / "o.png")])
            assert code == 2 and "missing" in err, err
        assert opened == []
    finally:
        registry.unregister(spec.name)


def test_batch_takes_every_hint_naming_and_never_colours_a_hint_file(tmp_path, run):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("dash", "under", "dot"):
        lines_and_strokes(tmp_path)
        Image.open(tmp_path / "l.png").save(src / f"{name}.png")
    hint = np.full((48, 64, 3), 255, np.uint8)
    hint[20:28, 20:28] = (0, 0, 255)
    for name in ("dash-hints.png", "under_hints.png", "dot.hints.png"):
        Image.fromarray(hint).save(src / name)
    Image.fromarray(hint).save(src / "orphan-hints.png")  # named like hints, but no orphan.png
    Image.open(tmp_path / "l.png").save(src / "bare.png")  # no hints at all
    out = tmp_path / "out"
    code, err = run(["colorize", "--batch", str(src), "--method", "lazybrush", "-o", str(out)])
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["bare.png", "dash.png", "dot.png", "under.png"]
    for name in ("dash", "under", "dot"):
        assert (np.asarray(Image.open(out / f"{name}.png"))[24, 24] == [0, 0, 255]).all(), name
    assert "orphan-hints.png" in err and "bare.png: no hints" in err
    code, err = run(["colorize", "--batch", str(src), "--method", "lazybrush", "-o", str(out)])
    assert code == 0 and "4 skipped because their output exists" in err


def test_demo_works_from_any_folder(tmp_path, monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["demo", "--out", "d", "--model", "lazybrush", "--no-baseline"])
    assert code == 0, err
    assert (tmp_path / "d" / "demo.png").is_file() and (tmp_path / "d" / "girl.png").is_file()
