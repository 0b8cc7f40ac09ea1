// The ranking page: render the candidates, let the person order them, post the ranking.
// All text from the run (reward code, descriptions) goes in through textContent, never as
// HTML: reward code is model-written and must not run in the page.
"use strict";

const opened = performance.now();
const state = { order: [], unacceptable: new Set(), cards: new Map(), done: false };

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setStatus(text, kind) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = kind || "";
}

// Visual order follows state.order through CSS `order`: the cards never move in the DOM,
// so their videos keep playing while the person reorders them.
function layout() {
  state.order.forEach((slot, place) => {
    const card = state.cards.get(slot);
    card.style.order = String(place);
    card.querySelector(".place").textContent = "#" + (place + 1);
    card.setAttribute("aria-label", `candidate ${slot}, place ${place + 1}` +
      (state.unacceptable.has(slot) ? ", unacceptable" : ""));
    card.classList.toggle("unacceptable", state.unacceptable.has(slot));
    card.querySelector("input.bad").checked = state.unacceptable.has(slot);
  });
}

function moveTo(slot, place) {
  if (state.done) return;
  const order = state.order.filter((s) => s !== slot);
  place = Math.max(0, Math.min(order.length, place));
  order.splice(place, 0, slot);
  state.order = order;
  layout();
}

function moveBy(slot, delta) {
  moveTo(slot, state.order.indexOf(slot) + delta);
}

function toggleBad(slot, value) {
  if (state.done) return;
  const on = value === undefined ? !state.unacceptable.has(slot) : value;
  if (on) state.unacceptable.add(slot); else state.unacceptable.delete(slot);
  layout();
}

function button(label, title, onClick) {
  const b = el("button", "", label);
  b.type = "button";
  b.title = title;
  b.addEventListener("click", (event) => { event.stopPropagation(); onClick(); });
  return b;
}

function makeCard(cand, fitnessName) {
  const slot = cand.slot;
  const card = el("li", "card");
  card.tabIndex = 0;
  card.draggable = true;
  card.dataset.slot = String(slot);
  const head = el("div", "card-head");
  head.append(el("span", "place"), el("span", "name", `candidate ${slot}`));
  card.append(head);
  if (cand.video) {
    const video = el("video");
    video.src = `media/${slot}/video.mp4`;
    if (cand.poster) video.poster = `media/${slot}/poster.png`;
    video.muted = true;
    video.loop = true;
    video.autoplay = true;
    video.playsInline = true;
    video.preload = "auto";
    video.draggable = false;
    video.dataset.slot = String(slot);
    card.append(video);
  } else {
    card.append(el("div", "novideo", "no video was recorded"));
  }
  const buttons = el("div", "buttons");
  buttons.append(
    button("Best", "make this the best (b)", () => moveTo(slot, 0)),
    button("Worst", "make this the worst (w)", () => moveTo(slot, state.order.length)),
    button("\u25c0", "one place better (\u2190)", () => moveBy(slot, -1)),
    button("\u25b6", "one place worse (\u2192)", () => moveBy(slot, 1)),
  );
  const bad = el("label", "badlabel");
  const box = el("input", "bad");
  box.type = "checkbox";
  box.addEventListener("change", () => toggleBad(slot, box.checked));
  bad.append(box, " unacceptable");
  buttons.append(bad);
  card.append(buttons);
  const details = el("div", "details");
  const fitness = cand.fitness === null || cand.fitness === undefined
    ? "n/a" : Number(cand.fitness).toPrecision(4);
  details.append(el("div", "fitness", `${fitnessName}: ${fitness}`));
  details.append(el("pre", "code", cand.code));
  card.append(details);

  card.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("text/plain", String(slot));
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  card.addEventListener("dragend", () => card.classList.remove("dragging"));
  card.addEventListener("dragover", (event) => { event.preventDefault(); card.classList.add("over"); });
  card.addEventListener("dragleave", () => card.classList.remove("over"));
  card.addEventListener("drop", (event) => {
    event.preventDefault();
    card.classList.remove("over");
    const dragged = Number(event.dataTransfer.getData("text/plain"));
    if (!state.cards.has(dragged) || dragged === slot) return;
    moveTo(dragged, state.order.indexOf(slot));
  });
  card.addEventListener("keydown", (event) => {
    const keys = {
      ArrowLeft: () => moveBy(slot, -1), ArrowUp: () => moveBy(slot, -1),
      ArrowRight: () => moveBy(slot, 1), ArrowDown: () => moveBy(slot, 1),
      b: () => moveTo(slot, 0), Home: () => moveTo(slot, 0),
      w: () => moveTo(slot, state.order.length), End: () => moveTo(slot, state.order.length),
      u: () => toggleBad(slot), x: () => toggleBad(slot),
    };
    if (event.target !== card || event.ctrlKey || event.metaKey || !keys[event.key]) return;
    event.preventDefault();
    keys[event.key]();
  });
  return card;
}

async function submit() {
  if (state.done) return;
  const payload = {
    order: state.order,
    unacceptable: [...state.unacceptable],
    text: document.getElementById("text").value,
    seconds: (performance.now() - opened) / 1000,
  };
  const go = document.getElementById("submit");
  go.disabled = true;
  setStatus("saving\u2026");
  try {
    const answer = await fetch("api/ranking", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const data = await answer.json();
    if (!answer.ok) throw new Error(data.error || `HTTP ${answer.status}`);
    state.done = true;
    document.body.classList.add("submitted");
    setStatus("Saved. The run continues; you can close this page.", "ok");
  } catch (error) {
    go.disabled = false;
    setStatus(`Not saved: ${error.message}`, "error");
  }
}

async function main() {
  const page = await (await fetch("api/page")).json();
  document.getElementById("iteration").textContent = `(iteration ${page.iteration + 1})`;
  document.getElementById("description").textContent = page.description;
  const details = document.getElementById("show-details");
  details.checked = Boolean(page.show_details);
  document.body.classList.toggle("show-details", details.checked);
  details.addEventListener("change", () => document.body.classList.toggle("show-details", details.checked));
  const list = document.getElementById("cards");
  for (const cand of page.candidates) {
    const card = makeCard(cand, page.fitness_name);
    state.cards.set(cand.slot, card);
    state.order.push(cand.slot);
    list.append(card);
  }
  layout();
  document.getElementById("submit").addEventListener("click", submit);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(); }
  });
  if (page.ranked) {
    state.done = true;
    document.getElementById("submit").disabled = true;
    setStatus("This iteration is already ranked; the run has its ranking.", "ok");
  }
}

main().catch((error) => setStatus(`Could not load the page: ${error.message}`, "error"));
