// The page: generate a set, then record what the user does with it as implicit feedback.
// Events use the public schema of POST /v1/events and go to POST /page/events with the
// session cookie (HttpOnly; set by POST /page/session). See docs/serve.md.
"use strict";

const $ = (id) => document.getElementById(id);
const DWELL_MIN_MS = 300;

const state = {
  session: null, // {user_id, event_prefix}
  info: null, // PageInfo
  set: null, // the set on screen: {impression, ids, picked, hoverSince, dwell, dwellSent, regenerated}
  busy: false,
};

function hex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function eventId(kind) {
  return `${state.session.event_prefix}${kind}-${hex(8)}`;
}

function errorText(status, data) {
  const d = data && data.detail;
  if (d && typeof d === "object" && !Array.isArray(d) && d.message) return d.message;
  if (Array.isArray(d)) return d.map((e) => `${e.loc.slice(1).join(".")}: ${e.msg}`).join("; ");
  return `the server answered ${status}`;
}

async function call(method, path, body, keepalive = false) {
  const opts = { method, keepalive, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let r = await fetch(path, opts);
  if (r.status === 401 && path !== "/page/session") {
    await startSession(); // the cookie expired or the server's secret changed
    r = await fetch(path, opts);
  }
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error(errorText(r.status, data));
  return data;
}

async function startSession() {
  state.session = await call("POST", "/page/session");
}

function showStatus(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

async function sendEvents(events, keepalive = false) {
  if (!events.length) return;
  const user = state.session.user_id;
  try {
    await call("POST", "/page/events", { events: events.map((e) => ({ user_id: user, ...e })) }, keepalive);
  } catch (err) {
    showStatus(`Could not record feedback: ${err.message}`, "error");
  }
}

// --- dwell: time the pointer rests on each image of the set -----------------------
function hoverStart(id) {
  if (state.set && !state.set.dwellSent) state.set.hoverSince.set(id, performance.now());
}

function hoverEnd(id) {
  const set = state.set;
  if (!set || !set.hoverSince.has(id)) return;
  set.dwell.set(id, (set.dwell.get(id) || 0) + performance.now() - set.hoverSince.get(id));
  set.hoverSince.delete(id);
}

function flushDwell(keepalive = false) {
  const set = state.set;
  if (!set || set.dwellSent) return;
  [...set.hoverSince.keys()].forEach(hoverEnd);
  set.dwellSent = true;
  const events = [...set.dwell.entries()]
    .filter(([, ms]) => ms >= DWELL_MIN_MS)
    .map(([id, ms]) => ({ type: "dwell", client_event_id: eventId("dwell"), generation_id: id,
                          impression_id: set.impression, dwell_ms: Math.round(ms) }));
  sendEvents(events, keepalive);
}

// --- the set on screen --------------------------------------------------------------
function pick(id, card) {
  const set = state.set;
  if (!set || set.picked) return;
  set.picked = id;
  document.querySelectorAll(".card").forEach((c) => c.classList.toggle("dimmed", c !== card));
  card.classList.add("picked");
  $("regenerate").disabled = true;
  showStatus("Thanks, your pick is recorded. Download it, or generate again.", "ok");
  sendEvents([{ type: "pick", client_event_id: eventId("pick"), generation_id: id, impression_id: set.impression }]);
}

function card(image, index, set) {
  const fig = document.createElement("figure");
  fig.className = "card";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "pick";
  button.title = "Pick this image";
  const img = document.createElement("img");
  img.src = image.image_url;
  img.alt = `Image ${index + 1} of the set, seed ${image.seed}`;
  img.width = img.height = state.info.resolution;
  button.append(img);
  button.addEventListener("click", () => pick(image.generation_id, fig));
  fig.addEventListener("pointerenter", () => hoverStart(image.generation_id));
  fig.addEventListener("pointerleave", () => hoverEnd(image.generation_id));

  const caption = document.createElement("figcaption");
  const seed = document.createElement("span");
  seed.textContent = `seed ${image.seed}`;
  const download = document.createElement("a");
  download.className = "download";
  download.href = `${image.image_url}?download=true`;
  download.download = `${image.generation_id}.png`;
  download.textContent = "Download";
  download.addEventListener("click", () => sendEvents([{ type: "download", client_event_id: eventId("download"),
    generation_id: image.generation_id, impression_id: set.impression }]));
  caption.append(seed, download);
  fig.append(button, caption);
  return { fig, loaded: new Promise((resolve) => { img.onload = img.onerror = resolve; }) };
}

async function show(res) {
  const set = { impression: eventId("imp"), ids: res.images.map((i) => i.generation_id), picked: null,
                hoverSince: new Map(), dwell: new Map(), dwellSent: false, regenerated: false, request: res };
  state.set = set;
  const grid = $("grid");
  grid.classList.toggle("pixelated", state.info.resolution < 128);
  grid.replaceChildren();
  const cards = res.images.map((image, i) => card(image, i, set));
  cards.forEach((c) => grid.append(c.fig));
  $("results").hidden = false;
  $("regenerate").disabled = false;
  $("results-title").textContent = res.prompt;
  const seeds = res.images.map((i) => i.seed);
  const range = seeds.length > 1 ? `${seeds[0]}\u2013${seeds[seeds.length - 1]}` : `${seeds[0]}`;
  $("meta").textContent = `${res.images.length} images \u00b7 ${res.steps} steps \u00b7 guidance ${res.guidance_scale}` +
    ` \u00b7 seeds ${range} \u00b7 ${res.seconds.toFixed(2)} s`;
  await Promise.all(cards.map((c) => c.loaded));
  if (state.set !== set) return; // replaced before it finished loading: never shown in full
  sendEvents([{ type: "impression", client_event_id: set.impression, generation_ids: set.ids }]);
}

// --- generating -----------------------------------------------------------------------
function request() {
  const random = $("random-seed").checked;
  const body = {
    prompt: $("prompt").value.trim(),
    negative_prompt: $("negative").value.trim(),
    guidance_scale: Number($("guidance").value),
    steps: Number($("steps").value),
    num_images: Number($("num").value),
  };
  if (!random) body.seed = Number($("seed").value);
  return body;
}

async function generate() {
  if (state.busy) return;
  const body = request();
  if (!body.prompt) {
    showStatus("Type a prompt first.", "error");
    $("prompt").focus();
    return;
  }
  flushDwell();
  state.busy = true;
  $("generate").disabled = $("regenerate").disabled = true;
  $("generate").textContent = "Generating\u2026";
  showStatus("");
  document.body.classList.add("working");
  try {
    await show(await call("POST", "/page/generate", body));
  } catch (err) {
    showStatus(err.message, "error");
    if (state.set && !state.set.picked) $("regenerate").disabled = false;
  } finally {
    state.busy = false;
    $("generate").disabled = false;
    $("generate").textContent = "Generate";
    document.body.classList.remove("working");
  }
}

function regenerate() {
  const set = state.set;
  if (!set || set.picked || set.regenerated || state.busy) return;
  set.regenerated = true;
  sendEvents([{ type: "regenerate", client_event_id: eventId("regen"), impression_id: set.impression }]);
  if (!$("random-seed").checked) { // a fixed seed would redraw the same images: move past this set's seeds
    $("seed").value = Number($("seed").value) + set.ids.length;
  }
  generate();
}

// --- start-up -------------------------------------------------------------------------
function setUp(info) {
  $("model-badge").textContent = info.adapter ? `${info.model} + ${info.adapter}` : info.model;
  $("steps").value = info.default_steps;
  $("steps").max = info.max_steps;
  $("guidance").value = info.default_guidance_scale;
  $("guidance-out").value = Number(info.default_guidance_scale).toFixed(1);
  $("prompt").maxLength = info.max_prompt_chars;
  $("prompt").placeholder = info.example_prompts[0] || "Describe an image";
  for (let n = 1; n <= info.max_images; n++) $("num").append(new Option(String(n), String(n), n === 4, n === 4));
  $("rule").textContent = info.prompt_rule ? `This model reads prompts of the form: ${info.prompt_rule}.` : "";
  for (const text of info.example_prompts) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.textContent = text;
    chip.addEventListener("click", () => { $("prompt").value = text; $("prompt").focus(); });
    $("examples").append(chip);
  }
}

async function main() {
  $("gen-form").addEventListener("submit", (e) => { e.preventDefault(); generate(); });
  $("regenerate").addEventListener("click", regenerate);
  $("guidance").addEventListener("input", () => { $("guidance-out").value = Number($("guidance").value).toFixed(1); });
  $("random-seed").addEventListener("change", () => { $("seed").disabled = $("random-seed").checked; });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flushDwell(true); });
  try {
    const [info] = await Promise.all([call("GET", "/page/info"), startSession()]);
    state.info = info;
    setUp(info);
  } catch (err) {
    showStatus(`The server is not ready: ${err.message}`, "error");
    $("generate").disabled = true;
  }
}

main();
