// The page: one form per served model, built from what /seqapps/models declares.
"use strict";

const models = document.getElementById("models");

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function optionField(model, option) {
  const id = `${model.name}-${option.keyword}`;
  const label = element("label", { for: id, title: option.help, text: option.keyword + " " });
  let input;
  if (option.type === "flag") {
    input = element("input", { type: "checkbox", id, name: option.keyword });
  } else if (["int", "positive_int", "float"].includes(option.type)) {
    input = element("input", { type: "number", id, name: option.keyword,
                              step: option.type === "float" ? "any" : "1" });
    if (option.type === "positive_int") input.min = "1";
  } else {
    input = element("input", { type: "text", id, name: option.keyword });
  }
  if (option.default !== null && option.type !== "flag") input.value = option.default;
  // A flag that asks for a picture (attention, probabilities) is on: the page draws it.
  if (option.drawn) input.checked = true;
  input.dataset.type = option.type;
  label.append(input);
  return label;
}

function readOptions(form) {
  const options = {};
  for (const input of form.querySelectorAll(".options input")) {
    const type = input.dataset.type;
    if (type === "flag") { if (input.checked) options[input.name] = true; continue; }
    if (input.value === "") continue;
    if (type === "int" || type === "positive_int") options[input.name] = parseInt(input.value, 10);
    else if (type === "float") options[input.name] = parseFloat(input.value);
    else if (type === "append") options[input.name] = [input.value];
    else options[input.name] = input.value;
  }
  return options;
}

function fileAsBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function readInputs(model, form) {
  if (model.inputs === null) return undefined;
  if (model.inputs === "text") {
    return form.querySelector("textarea").value.split("\n").filter((line) => line.trim());
  }
  const files = [...form.querySelector("input[type=file]").files];
  return Promise.all(files.map(async (file) => ({ b64: await fileAsBase64(file) })));
}

function tagColour(tag) {
  let hash = 0;
  for (const c of tag) hash = (hash * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${hash}, 70%, 85%)`;
}

function bars(scores) {
  const box = element("div");
  for (const [name, score] of Object.entries(scores)) {
    const fill = element("span", { class: "fill" });
    fill.style.width = `${Math.round(score * 200)}px`;
    box.append(element("div", { class: "bar" }, element("span", { class: "name", text: name }),
                       fill, element("span", { text: score.toFixed(3) })));
  }
  return box;
}

// How strongly a cell is shaded: a weight against the largest of the table, as
// seqapps.plots.attention_heatmap scales its colours.
function shade(weight, largest) {
  return `rgba(74, 123, 208, ${largest > 0 ? (weight / largest).toFixed(3) : 0})`;
}

// Attention over a text: a row per written piece, a column per source piece.
function attentionTable(rows, columns, weights) {
  const head = element("tr", {}, element("th"));
  for (const column of columns) head.append(element("th", { class: "source", text: column }));
  const table = element("table", { class: "attention" }, element("thead", {}, head));
  const body = element("tbody");
  const largest = Math.max(...weights.flat());
  rows.forEach((piece, i) => {
    const row = element("tr", {}, element("th", { class: "written", text: piece }));
    for (const [j, weight] of weights[i].entries()) {
      const cell = element("td", { title: `${piece} → ${columns[j]}: ${weight.toFixed(3)}` });
      cell.style.background = shade(weight, largest);
      row.append(cell);
    }
    body.append(row);
  });
  table.append(body);
  return table;
}

// Attention over an image: per written piece, the image with its grid of cells shaded.
function attentionGrids(pieces, weights, imageFile) {
  const box = element("div", { class: "attention-grids" });
  const size = 96;
  const image = imageFile ? new Image() : null;
  const drawings = [];
  pieces.forEach((piece, i) => {
    const grid = weights[i];
    const canvas = element("canvas", { width: size, height: size });
    const figure = element("figure", { class: "attention-grid", "data-cells": `${grid.length}x${grid[0].length}` },
                           canvas, element("figcaption", { text: piece }));
    const draw = () => {
      const context = canvas.getContext("2d");
      if (image) context.drawImage(image, 0, 0, size, size);
      const largest = Math.max(...grid.flat());
      const [h, w] = [size / grid.length, size / grid[0].length];
      grid.forEach((line, y) => line.forEach((weight, x) => {
        // Dark where the decoder did not look, clear where it looked most.
        context.fillStyle = `rgba(0, 0, 0, ${(0.75 * (1 - weight / (largest || 1))).toFixed(3)})`;
        context.fillRect(x * w, y * h, w, h);
      }));
    };
    drawings.push(draw);
    box.append(figure);
  });
  if (image) {
    const url = URL.createObjectURL(imageFile);
    image.onload = () => { drawings.forEach((draw) => draw()); URL.revokeObjectURL(url); };
    image.onerror = () => URL.revokeObjectURL(url);
    image.src = url;
  } else {
    drawings.forEach((draw) => draw());
  }
  return box;
}

function drawAttention(attention, imageFile) {
  const box = element("div", { class: "attention-box" },
    element("p", { class: "note", text: "attention: where each written piece looked" }));
  if (Array.isArray(attention.source)) {
    box.append(attentionTable(attention.target, attention.source, attention.weights));
  } else {
    box.append(attentionGrids(attention.pieces, attention.weights, imageFile));
  }
  return box;
}

// Shading of a written character: pale red for an unlikely one, clear for a sure one.
function chance(probability) {
  return `rgba(220, 60, 60, ${(0.6 * (1 - probability)).toFixed(3)})`;
}

function probabilityNote() {
  return element("p", { class: "note", text: "shading: the model's probability of each piece it wrote " +
                        "(red: unlikely, clear: sure; hover for the value)" });
}

function shadedPiece(piece, probability) {
  const span = element("span", { class: "piece", title: `p = ${probability.toFixed(3)}`, text: piece });
  span.dataset.probability = probability;
  span.style.background = chance(probability);
  return span;
}

// An answer drawn from its keys: tokens with tags as coloured chips, a label with its
// scores as bars, attention as a table or image grids, probabilities as shading, any other
// text as it is.
function drawAnswer(model, answer, imageFile) {
  const row = element("div", { class: "row" });
  if (Array.isArray(answer.tokens) && Array.isArray(answer.tags)) {
    answer.tokens.forEach((token, i) => {
      const chip = element("span", { class: "token" }, element("span", { text: token }),
                           element("span", { class: "tag", text: answer.tags[i] }));
      chip.style.background = tagColour(answer.tags[i]);
      row.append(chip);
    });
    return row;
  }
  if (typeof answer.label === "string") {
    row.append(element("strong", { class: "label", text: answer.label }),
               ` ${(answer.score ?? 0).toFixed(3)}`);
    if (answer.scores) row.append(bars(answer.scores));
    return row;
  }
  for (const [key, value] of Object.entries(answer)) {
    if (key === model.inputs || key === "prompt" || key === "attention" || key === "probabilities") continue;
    if (key === "text" && Array.isArray(answer.probabilities) && [...value].length === answer.probabilities.length) {
      // Probabilities are per written token; a character model's tokens are its characters.
      const out = element("pre", { class: key });
      [...value].forEach((c, i) => out.append(shadedPiece(c, answer.probabilities[i] ?? 0)));
      row.append(out, probabilityNote());
      continue;
    }
    row.append(element("pre", { class: key, text: typeof value === "string" ? value : JSON.stringify(value) }));
  }
  if (answer.attention) row.append(drawAttention(answer.attention, imageFile));
  return row;
}

async function post(model, method, body) {
  return fetch(`/v1/models/${encodeURIComponent(model.name)}:${method}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
}

async function streamInto(response, out) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const name = (event.match(/^event: (.*)$/m) || [null, "message"])[1];
      const data = JSON.parse((event.match(/^data: (.*)$/m) || [null, "{}"])[1]);
      if (name === "error") throw new Error(data.error);
      if (name !== "message") continue;
      if (typeof data.probability === "number") out.append(shadedPiece(data.piece, data.probability));
      else out.append(data.piece);
    }
  }
}

async function submit(model, form, answer) {
  answer.replaceChildren(element("p", { class: "note", text: "working…" }));
  try {
    const body = { options: readOptions(form) };
    const inputs = await readInputs(model, form);
    if (inputs !== undefined) body.inputs = inputs;
    if (model.stream && model.inputs === null) {
      const response = await post(model, "stream", body);
      if (!response.ok) throw new Error((await response.json()).error);
      const out = element("pre", { class: "text" });
      answer.replaceChildren(out);
      await streamInto(response, out);
      if (out.querySelector(".piece")) answer.append(probabilityNote());
      answer.dataset.done = "true";
      return;
    }
    // The images as sent, for the pictures of where the captioner looked.
    const files = model.inputs === "image" ? [...form.querySelector("input[type=file]").files] : [];
    const response = await post(model, "answer", body);
    const reply = await response.json();
    if (!response.ok) throw new Error(reply.error);
    answer.replaceChildren(...reply.answers.map((a, i) => drawAnswer(model, a, files[i])));
    answer.dataset.done = "true";
  } catch (error) {
    answer.replaceChildren(element("p", { class: "error", text: error.message }));
    answer.dataset.done = "true";
  }
}

function modelSection(model) {
  const form = element("form", { id: `form-${model.name}` });
  if (model.inputs === "text") {
    form.append(element("textarea", { name: "inputs", placeholder: "one text per line" }));
  } else if (model.inputs !== null) {
    form.append(element("input", { type: "file", name: "inputs", accept: `${model.inputs}/*`, multiple: "" }));
  }
  const options = element("div", { class: "options" });
  for (const option of model.options) options.append(optionField(model, option));
  form.append(options, element("button", { type: "submit", text: model.verb }));
  const answer = element("div", { class: "answer", id: `answer-${model.name}` });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    delete answer.dataset.done;
    submit(model, form, answer);
  });
  return element("section", { class: "model", id: `model-${model.name}` },
    element("h2", {}, `${model.name} `, element("small", { text: `${model.task} · ${model.verb}` })),
    // The summary is the command line's; its note on where inputs come from is not the page's.
    element("p", { class: "note", text: model.summary.replace(/ \(.*\)$/, "") }), form, answer);
}

fetch("/seqapps/models")
  .then((response) => response.json())
  .then((reply) => models.replaceChildren(...reply.models.map(modelSection)))
  .catch((error) => models.replaceChildren(element("p", { class: "error", text: String(error) })));
