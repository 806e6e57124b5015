"""The one page participants see: self-contained HTML, CSS and JavaScript (no CDN, works offline)."""

PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f3f3f3; color: #222; }
  main { max-width: 760px; margin: 0 auto; padding: 16px; text-align: center; }
  h1 { font-size: 1.3em; margin: 8px 0; }
  p.help { color: #555; margin: 4px 0 12px; }
  #frame { background: #fff; border: 1px solid #ccc; min-height: 320px; display: flex;
           align-items: center; justify-content: center; }
  #shot { max-width: 100%; max-height: 70vh; display: block; }
  #scale { display: flex; gap: 8px; justify-content: center; margin: 14px 0; flex-wrap: wrap; }
  #scale button { font-size: 1em; padding: 10px 14px; min-width: 92px; border: 1px solid #888;
                  border-radius: 6px; background: #fff; cursor: pointer; }
  #scale button:hover:enabled { background: #e8eefc; }
  #scale button:disabled { opacity: .45; cursor: default; }
  #scale b { display: block; font-size: 1.4em; }
  #progress { color: #555; }
  #done { display: none; font-size: 1.2em; margin-top: 40px; }
  #error { color: #a00; min-height: 1.2em; }
</style>
</head>
<body>
<main>
  <h1>{{title}}</h1>
  <p class="help">How good is the colorization of this drawing? Rate it from 1 (bad) to 5 (excellent).
     Keys 1-5 work too.</p>
  <div id="study">
    <div id="frame"><img id="shot" alt="image to rate"></div>
    <div id="scale">
      <button data-r="1" disabled><b>1</b>Bad</button>
      <button data-r="2" disabled><b>2</b>Poor</button>
      <button data-r="3" disabled><b>3</b>Fair</button>
      <button data-r="4" disabled><b>4</b>Good</button>
      <button data-r="5" disabled><b>5</b>Excellent</button>
    </div>
    <div id="progress"></div>
  </div>
  <div id="done">Thank you! You have rated every image.</div>
  <div id="error"></div>
</main>
<script>
"use strict";
let current = null;
const buttons = Array.from(document.querySelectorAll("#scale button"));
const shot = document.getElementById("shot");
function setEnabled(on) { buttons.forEach(b => b.disabled = !on); }
function showError(msg) { document.getElementById("error").textContent = msg || ""; }
async function start() {
  const res = await fetch("api/start", {method: "POST", credentials: "same-origin", cache: "no-store"});
  if (res.ok) return true;
  showError(res.status === 429 ? "Too many new participants right now; wait a few minutes and reload."
                               : "Could not start the study (" + res.status + "); reload the page.");
  return false;
}
async function next() {
  setEnabled(false);
  let res = await fetch("api/next", {credentials: "same-origin", cache: "no-store"});
  if (res.status === 401) {
    if (!(await start())) return;
    res = await fetch("api/next", {credentials: "same-origin", cache: "no-store"});
  }
  if (!res.ok) { showError("Could not load the next image (" + res.status + "); reload the page."); return; }
  const data = await res.json();
  document.getElementById("progress").textContent = data.rated + " of " + data.total + " rated";
  if (data.image === null) {
    document.getElementById("study").style.display = "none";
    document.getElementById("done").style.display = "block";
    return;
  }
  current = data.image;
  shot.onload = () => setEnabled(true);
  shot.src = "img/" + encodeURIComponent(current);
}
async function vote(rating) {
  if (current === null || buttons[0].disabled) return;
  setEnabled(false);
  const res = await fetch("api/vote", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({image: current, rating: rating})});
  if (res.status === 429) { setTimeout(() => setEnabled(true), 500); return; }
  if (!res.ok && res.status !== 409) { showError("Your vote was not saved (" + res.status + "); try again.");
    setEnabled(true); return; }
  showError("");
  next();
}
buttons.forEach(b => b.addEventListener("click", () => vote(Number(b.dataset.r))));
document.addEventListener("keydown", e => { if ("12345".includes(e.key) && e.key.length === 1) vote(Number(e.key)); });
start().then(ok => { if (ok) next(); });  // keeps the participant of a valid cookie, else asks for a new one
</script>
</body>
</html>
"""
