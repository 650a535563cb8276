// The query page: a form, SigV4 signing with the analyst's pasted credentials, and an SVG
// chart of GET /query's rows (the mean at each period's middle over one min-max bar per
// period, as `shardline query --plot` draws it). No build step, no dependencies.
"use strict";
(() => {
  const config = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const RANGE_S = { "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800 };
  const RESOLUTION_S = { "1m": 60, "5m": 300, "1h": 3600 };
  const CHART = { width: 800, height: 360, left: 64, right: 16, top: 16, bottom: 40 };
  const encoder = new TextEncoder();
  // The local stack's page, where its IAM users' long-term test keys are fine.
  const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

  // -- SigV4 for execute-api (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html)
  const rfc3986 = (text) => encodeURIComponent(text).replace(
    /[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  const hex = (buffer) => Array.from(new Uint8Array(buffer),
    (byte) => byte.toString(16).padStart(2, "0")).join("");
  const sha256 = async (text) => hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));

  async function hmac(key, text) {
    const raw = typeof key === "string" ? encoder.encode(key) : key;
    const imported = await crypto.subtle.importKey(
      "raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return crypto.subtle.sign("HMAC", imported, encoder.encode(text));
  }

  // The query string in canonical form (names sorted, RFC 3986 encoding): sent as signed.
  const canonicalQuery = (params) => params
    .map(([name, value]) => [rfc3986(name), rfc3986(value)])
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : (a[0] < b[0] ? -1 : 1)))
    .map(([name, value]) => `${name}=${value}`).join("&");

  async function signature(url, query, credentials, now) {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
    const day = stamp.slice(0, 8);
    const headers = { host: url.host, "x-amz-date": stamp };
    if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    const canonical = ["GET", url.pathname, query,
      names.map((name) => `${name}:${headers[name].trim()}\n`).join(""),
      names.join(";"), await sha256("")].join("\n");
    const scope = `${day}/${config.region}/execute-api/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", stamp, scope, await sha256(canonical)].join("\n");
    let key = await hmac("AWS4" + credentials.secretAccessKey, day);
    for (const part of [config.region, "execute-api", "aws4_request"]) key = await hmac(key, part);
    const signed = { "x-amz-date": stamp, authorization:
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(";")}, Signature=${hex(await hmac(key, toSign))}` };
    if (credentials.sessionToken) signed["x-amz-security-token"] = credentials.sessionToken;
    return signed;
  }

  // What `aws configure export-credentials --format process` or `aws sts
  // get-session-token` prints; null when nothing was pasted (unsigned requests).
  function parseCredentials(text) {
    if (!text.trim()) return null;
    let parsed;
    try { parsed = JSON.parse(text); } catch (error) {
      throw new Error("credentials: paste the JSON that `aws configure export-credentials " +
        "--format process` prints");
    }
    const given = (parsed && typeof parsed === "object" && (parsed.Credentials || parsed)) || {};
    if (!given.AccessKeyId || !given.SecretAccessKey) {
      throw new Error("credentials: the JSON needs AccessKeyId and SecretAccessKey");
    }
    if (given.Expiration && Date.parse(given.Expiration) <= Date.now()) {
      throw new Error(`credentials: they expired at ${given.Expiration}; get new ones`);
    }
    if (!given.SessionToken && !LOOPBACK.has(window.location.hostname)) {
      throw new Error("credentials: paste temporary credentials (with a SessionToken), " +
        "e.g. from `aws sts get-session-token`, never an access key that does not expire");
    }
    return { accessKeyId: given.AccessKeyId, secretAccessKey: given.SecretAccessKey,
      sessionToken: given.SessionToken || "" };
  }

  // -- the request -----------------------------------------------------------------------
  const iso = (epochS) => new Date(epochS * 1000).toISOString().replace(/\.\d+Z$/, "Z");

  function requestOf(fields, nowS) {
    const scope = fields.scope.value;
    const name = fields.selection.value.trim();
    if (scope !== "fleet" && !name) throw new Error(`name the ${scope}`);
    const metric = fields.metric.value.trim();
    if (!/^[a-z][a-z0-9_]*$/.test(metric)) {
      throw new Error("name one metric, in lower case, e.g. temperature_c");
    }
    const untilS = Math.floor(nowS);
    const sinceS = untilS - RANGE_S[fields.range.value];
    const params = [[scope, scope === "fleet" ? "true" : name], ["metric", metric],
      ["since", iso(sinceS)], ["until", iso(untilS)], ["resolution", fields.resolution.value]];
    const label = scope === "fleet" ? "the fleet" : `${scope} ${name}`;
    return { params, metric, label, resolutionS: RESOLUTION_S[fields.resolution.value],
      sinceS, untilS };
  }

  async function fetchRows(request, credentials) {
    const url = new URL("query", window.location.href);
    const query = canonicalQuery(request.params);
    const headers = credentials ? await signature(url, query, credentials, new Date()) : {};
    $("request").textContent = `GET ${url.pathname}?${query}`;
    const response = await fetch(`${url.pathname}?${query}`, { headers, cache: "no-store" });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const hint = response.status === 403 && !credentials ? " (paste credentials)" : "";
      throw new Error(`${response.status}: ${body.message || response.statusText}${hint}`);
    }
    return body;
  }

  // -- the chart -------------------------------------------------------------------------
  // Round values 1, 2 or 5 × 10^n apart over [low, high]: counted in whole steps, so a
  // step too small to move a float cannot loop, and never more than MAX_TICKS.
  const MAX_TICKS = 20;
  function niceTicks(low, high, count) {
    const rough = (high - low) / count;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
    const first = Math.ceil(low / step);
    const last = Math.min(Math.floor(high / step), first + MAX_TICKS - 1);
    const ticks = [];
    for (let i = first; i <= last; i += 1) ticks.push(Number((i * step).toPrecision(12)));
    return ticks;
  }

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function scales(rows, request) {
    const width = request.resolutionS;
    const starts = rows.map((row) => Date.parse(row.time) / 1000);
    const x0 = Math.min(Math.floor(request.sinceS / width) * width, starts[0]);
    const x1 = Math.max(request.untilS, starts[starts.length - 1] + width);
    let y0 = rows.reduce((low, row) => Math.min(low, row.min), Infinity);
    let y1 = rows.reduce((high, row) => Math.max(high, row.max), -Infinity);
    // A spread lost in the values' rounding is drawn flat, in a band around them.
    const size = Math.max(Math.abs(y0), Math.abs(y1), 1);
    const pad = y1 - y0 > size * 1e-9 ? (y1 - y0) * 0.05 : size * 0.01;
    y0 -= pad; y1 += pad;
    const c = CHART;
    return {
      x: (s) => c.left + ((s - x0) / (x1 - x0)) * (c.width - c.left - c.right),
      y: (v) => c.top + ((y1 - v) / (y1 - y0)) * (c.height - c.top - c.bottom),
      x0, x1, y0, y1,
    };
  }

  function drawAxes(svg, scale, metric) {
    const c = CHART;
    for (const value of niceTicks(scale.y0, scale.y1, 5)) {
      const tick = element("g", { class: "tick y", "data-value": String(value) }, svg);
      const y = scale.y(value).toFixed(2);
      element("line", { x1: c.left, x2: c.width - c.right, y1: y, y2: y, stroke: "#e4e4e4" }, tick);
      element("text", { x: c.left - 6, y, "text-anchor": "end", "dominant-baseline": "middle" },
        tick).textContent = String(value);
    }
    const span = scale.x1 - scale.x0;
    const step = [300, 900, 1800, 3600, 7200, 21600, 43200, 86400].find((s) => span / s <= 8)
      || 86400;
    for (let s = Math.ceil(scale.x0 / step) * step; s <= scale.x1; s += step) {
      const tick = element("g", { class: "tick x", "data-time": iso(s) }, svg);
      const x = scale.x(s).toFixed(2);
      element("line", { x1: x, x2: x, y1: c.height - c.bottom, y2: c.height - c.bottom + 5,
        stroke: "#555" }, tick);
      const label = span > 86400 ? iso(s).slice(5, 16).replace("T", " ") : iso(s).slice(11, 16);
      element("text", { x, y: c.height - c.bottom + 18, "text-anchor": "middle" }, tick)
        .textContent = label;
    }
    element("text", { x: c.width - c.right, y: c.height - 4, "text-anchor": "end" }, svg)
      .textContent = "UTC";
    element("text", { x: 4, y: c.top - 4 }, svg).textContent = metric;
  }

  function drawSeries(svg, rows, scale, widthS) {
    let path = "";
    let previous = null;
    for (const row of rows) {
      const start = Date.parse(row.time) / 1000;
      const x = scale.x(start);
      const bar = element("rect", { class: "band", x: x.toFixed(2),
        y: scale.y(row.max).toFixed(2), width: (scale.x(start + widthS) - x).toFixed(2),
        height: (scale.y(row.min) - scale.y(row.max)).toFixed(2), fill: "#9ecae1",
        "fill-opacity": "0.5", "data-time": row.time }, svg);
      element("title", {}, bar).textContent = `${row.time}: min ${row.min}, max ${row.max}`;
      const middle = scale.x(start + widthS / 2).toFixed(2);
      const y = scale.y(row.mean).toFixed(2);
      path += `${previous !== null && start - previous === widthS ? "L" : "M"}${middle},${y} `;
      previous = start;
    }
    element("path", { class: "mean", d: path.trim(), fill: "none", stroke: "#08519c",
      "stroke-width": "2" }, svg);
    for (const row of rows) {
      const start = Date.parse(row.time) / 1000;
      const point = element("circle", { class: "point", r: "3", fill: "#08519c",
        cx: scale.x(start + widthS / 2).toFixed(2), cy: scale.y(row.mean).toFixed(2),
        "data-time": row.time, "data-mean": String(row.mean), "data-count": String(row.count) },
      svg);
      element("title", {}, point).textContent =
        `${row.time}: mean ${row.mean} of ${row.count} readings (${row.devices} devices)`;
    }
  }

  function drawChart(rows, request) {
    const chart = $("chart");
    chart.replaceChildren();
    if (!rows.length) return;
    const c = CHART;
    const svg = element("svg", { viewBox: `0 0 ${c.width} ${c.height}`, role: "img",
      "aria-label": `${request.metric} of ${request.label}` }, chart);
    const scale = scales(rows, request);
    drawAxes(svg, scale, request.metric);
    drawSeries(svg, rows, scale, request.resolutionS);
  }

  function fillTable(rows) {
    const body = $("rows").tBodies[0];
    body.replaceChildren();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const value of [row.time, row.count, row.mean, row.min, row.max, row.stddev,
        row.devices]) {
        const shown = typeof value === "number" ? Number(value.toPrecision(6)) : value;
        tr.insertCell().textContent = String(shown);
      }
    }
    $("rows").hidden = rows.length === 0;
  }

  // -- the form --------------------------------------------------------------------------
  function setState(state, message) {
    document.body.dataset.state = state;
    $("status").textContent = message;
  }

  const REMEMBERED = ["scope", "selection", "metric", "range", "resolution"];
  // A choice the form does not offer (an edited fragment) falls back to its default.
  const DEFAULTS = { scope: "site", metric: "temperature_c", range: "1h", resolution: "5m" };

  // The view (not the credentials) in the address's fragment, to bookmark or share.
  function remember(fields) {
    const state = new URLSearchParams(REMEMBERED.map((name) => [name, fields[name].value]));
    history.replaceState(null, "", `#${state}`);
  }

  function restore(fields) {
    const state = new URLSearchParams(window.location.hash.slice(1));
    for (const name of REMEMBERED) {
      if (state.has(name)) fields[name].value = state.get(name);
      if (fields[name].value === "" && name !== "selection") fields[name].value = DEFAULTS[name];
    }
    fields.selection.disabled = fields.scope.value === "fleet";
  }

  async function show(event) {
    event.preventDefault();
    const fields = event.target.elements;
    fields.show.disabled = true;
    try {
      const request = requestOf(fields, Date.now() / 1000);
      const credentials = parseCredentials(fields.credentials.value);
      remember(fields);
      setState("loading", "Loading…");
      const rows = await fetchRows(request, credentials);
      drawChart(rows, request);
      fillTable(rows);
      setState("ready", rows.length
        ? `${rows.length} periods of ${request.metric} for ${request.label}.`
        : `No ${request.metric} data for ${request.label} in this range.`);
    } catch (error) {
      $("chart").replaceChildren();
      fillTable([]);
      setState("error", error.message);
    } finally {
      fields.show.disabled = false;
    }
  }

  const form = $("query");
  form.addEventListener("submit", show);
  form.elements.scope.forEach((radio) => radio.addEventListener("change", () => {
    form.elements.selection.disabled = form.elements.scope.value === "fleet";
  }));
  restore(form.elements);
  setState("idle", "Pick what to chart, then Show.");
})();
