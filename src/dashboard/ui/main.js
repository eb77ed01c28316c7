// The dashboard's front end: no framework, one page per route, live over server-sent events.
import uPlot from "uplot";

const root = document.getElementById("root");
const live = document.getElementById("live");

// The link carries the token once; the server set a cookie, so it leaves the address bar.
if (location.search.includes("token=")) history.replaceState(null, "", location.pathname);

/** An element: h("td", { class: "num" }, "3"). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

const ms = (v) => (v === null || v === undefined ? "–" : `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
// How many workers a function runs, their memory, and why that many (as `app show` says it).
const containersText = (c, s, rss) => {
  const running = c?.running ?? s?.containers.length;
  if (running === undefined) return "–";
  return `${running}${running && s ? ` (${mb(rss)})` : ""}${c ? ` · ${c.reason}` : ""}`;
};
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

function stream(url, onData) {
  const es = new EventSource(url);
  es.onopen = () => live.classList.add("on");
  es.onerror = () => live.classList.remove("on");
  es.onmessage = (e) => onData(JSON.parse(e.data));
  return es;
}

async function post(url, body) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) });
  return res.json();
}

/** Requests a second from samples of a running total. */
function rates(history) {
  const xs = history.slice(0, 1).map((s) => s.t), ys = xs.map(() => 0);
  for (let i = 1; i < history.length; i++) {
    const dt = history[i].t - history[i - 1].t;
    xs.push(history[i].t);
    ys.push(dt > 0 ? Math.max(0, history[i].calls - history[i - 1].calls) / dt : 0);
  }
  return [xs, ys];
}

// ---- all apps ----

function appsPage() {
  const body = h("tbody");
  root.replaceChildren(
    h("h1", {}, "Apps"),
    h("table", { "data-testid": "apps" }, h("thead", {}, h("tr", {}, ["App", "State", "Version", "URLs", "Requests", "Errors", "Activity"].map((c) => h("th", {}, c)))), body),
  );
  const sparks = new Map();
  stream("/api/events", (apps) => {
    if (apps.length === 0) return body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No apps yet. Deploy one with `nodal deploy app.ts`.")));
    const rows = apps.map((a) => {
      const last = a.history.at(-1);
      const cell = h("td", { class: "spark" });
      let chart = sparks.get(a.name);
      const data = rates(a.history);
      if (!chart) {
        chart = new uPlot({ width: 140, height: 30, cursor: { show: false }, legend: { show: false }, axes: [{ show: false }, { show: false }], scales: { x: { time: false } }, series: [{}, { stroke: "#4f46e5", width: 1.5 }] }, data, cell);
        sparks.set(a.name, chart);
      } else {
        chart.setData(data);
        cell.append(chart.root);
      }
      return h(
        "tr",
        { "data-app": a.name },
        h("td", {}, h("a", { href: `/apps/${encodeURIComponent(a.name)}` }, a.name)),
        h("td", {}, h("span", { class: `state ${a.state}`, "data-testid": `state-${a.name}` }, a.state)),
        h("td", {}, `v${a.version}`),
        h("td", {}, Object.values(a.urls).map((u) => h("div", {}, h("a", { href: u }, u)))),
        h("td", { class: "num", "data-testid": `requests-${a.name}` }, last ? last.calls : "–"),
        h("td", { class: "num" }, last ? last.errors : "–"),
        cell,
      );
    });
    body.replaceChildren(...rows);
  });
}

// ---- one app ----

function chart(el, title, label, color) {
  const box = h("div", { class: "chart" }, h("h3", {}, title));
  el.append(box);
  const width = Math.max(240, Math.floor((root.clientWidth - 60) / 3));
  return new uPlot({ width, height: 140, legend: { show: false }, scales: { x: { auto: false } }, series: [{}, { label, stroke: color, width: 1.5, fill: color + "22", spanGaps: true }], axes: [{}, { size: 50 }] }, [[], []], box);
}

function appPage(name) {
  const title = h("h1", {}, name);
  const meta = h("div", { class: "note" });
  const functions = h("tbody");
  const schedules = h("tbody");
  const versions = h("tbody");
  const calls = h("tbody");
  const charts = h("div", { class: "charts" });
  const note = h("div", { class: "note muted", "data-testid": "note" });
  const table = (testid, heads, body) => h("table", { "data-testid": testid }, h("thead", {}, h("tr", {}, heads.map((c) => h("th", {}, c)))), body);
  const logs = h("pre", { id: "logs", "data-testid": "logs" });
  const fnFilter = h("select", { "data-testid": "log-function" }, h("option", { value: "" }, "all functions"));
  const search = h("input", { placeholder: "search", "data-testid": "log-search" });
  const source = h("select", { "data-testid": "log-source" }, ["", "stdout", "stderr", "system"].map((s) => h("option", { value: s }, s || "all streams")));
  root.replaceChildren(
    title,
    meta,
    note,
    h("h2", {}, "Functions"),
    table("functions", ["Function", "Kind", "Calls", "Errors", "p50", "p95", "In flight", "Containers"], functions),
    h("h2", {}, "Charts (last hour)"),
    charts,
    h("h2", {}, "Schedules"),
    table("schedules", ["Function", "Schedule", "Last run", "Next run", "History", ""], schedules),
    h("h2", {}, "Logs"),
    h("div", { class: "filters" }, fnFilter, search, source),
    logs,
    h("h2", {}, "Recent calls"),
    table("calls", ["Call", "Function", "Started", "Duration", "Outcome"], calls),
    h("h2", {}, "Versions"),
    table("versions", ["Version", "Tag", "Deployed", ""], versions),
  );
  const requests = chart(charts, "Requests / s", "req/s", "#4f46e5");
  const latency = chart(charts, "p95 latency (ms)", "p95", "#d97706");
  const memory = chart(charts, "Memory (MB)", "RSS", "#16a34a");

  let logStream;
  const followLogs = () => {
    logStream?.close();
    logs.replaceChildren();
    const q = new URLSearchParams();
    if (fnFilter.value) q.set("function", fnFilter.value);
    if (search.value) q.set("search", search.value);
    if (source.value) q.set("source", source.value);
    logStream = new EventSource(`/api/apps/${encodeURIComponent(name)}/logs?${q}`);
    logStream.onmessage = (e) => {
      const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
      for (const r of JSON.parse(e.data)) {
        logs.append(h("div", { class: r.stream }, h("span", { class: "tag" }, `${r.time.slice(11, 23)} [${r.function} ${r.source}] `), r.line));
      }
      while (logs.childElementCount > 2000) logs.firstElementChild.remove();
      if (atEnd) logs.scrollTop = logs.scrollHeight;
    };
  };
  fnFilter.addEventListener("change", followLogs);
  source.addEventListener("change", followLogs);
  search.addEventListener("change", followLogs);
  followLogs();

  let known = "";
  stream(`/api/apps/${encodeURIComponent(name)}/events`, (app) => {
    title.replaceChildren(app.name, " ", h("span", { class: `state ${app.state}`, "data-testid": "state" }, app.state));
    meta.replaceChildren(
      h("span", { "data-testid": "version" }, `v${app.version}`),
      "  ·  ",
      ...Object.entries(app.urls).flatMap(([fn, u]) => [`${fn}: `, h("a", { href: u, "data-testid": `url-${fn}` }, u), "  "]),
      h("span", { class: "muted" }, app.file),
    );
    const names = app.functions.map((f) => f.name).join(",");
    if (names !== known) {
      known = names;
      fnFilter.replaceChildren(h("option", { value: "" }, "all functions"), ...[...app.functions.map((f) => f.name), "nodal"].map((n) => h("option", { value: n }, n)));
    }
    const stats = new Map((app.stats?.functions ?? []).map((f) => [f.name, f]));
    functions.replaceChildren(
      ...app.functions.map((f) => {
        const s = stats.get(f.name);
        const rss = s ? s.containers.reduce((n, c) => n + c.rssBytes, 0) : 0;
        return h(
          "tr",
          {},
          h("td", {}, f.name),
          h("td", {}, f.kind),
          h("td", { class: "num", "data-testid": `calls-${f.name}` }, s ? s.calls : "–"),
          h("td", { class: "num", "data-testid": `errors-${f.name}` }, s ? s.errors : "–"),
          h("td", { class: "num" }, ms(s?.p50Ms)),
          h("td", { class: "num" }, ms(s?.p95Ms)),
          h("td", { class: "num" }, s ? s.inFlight : "–"),
          h("td", { "data-testid": `containers-${f.name}` }, containersText(f.containers, s, rss)),
        );
      }),
    );
    const scheduled = app.functions.filter((f) => f.schedule);
    schedules.replaceChildren(
      ...(scheduled.length
        ? scheduled.map((f) => {
            const runs = app.stats?.schedules?.[f.name] ?? [];
            const button = h("button", { "data-testid": `run-${f.name}`, disabled: app.state !== "deployed" && app.state !== "ephemeral" }, "Run now");
            button.addEventListener("click", async () => {
              button.disabled = true;
              note.textContent = `running ${f.name}…`;
              const out = await post(`/api/apps/${encodeURIComponent(name)}/run`, { function: f.name });
              note.textContent = out.ok ? `run ${out.runId} of ${f.name} succeeded` : `run of ${f.name} failed: ${out.error}`;
              button.disabled = false;
            });
            return h(
              "tr",
              {},
              h("td", {}, f.name),
              h("td", {}, f.schedule),
              h("td", { "data-testid": `last-${f.name}` }, f.lastRun ? [h("span", { class: `state ${f.lastRun.outcome}` }, f.lastRun.outcome), ` ${when(f.lastRun.startedAt)} · ${f.lastRun.durationMs} ms`] : "–"),
              h("td", { "data-testid": `next-${f.name}` }, when(f.nextRun)),
              h("td", { class: "dots", "data-testid": `history-${f.name}` }, runs.map((r) => h("span", { class: r.outcome, title: `${r.id} ${r.outcome} ${r.durationMs} ms` }))),
              h("td", {}, button),
            );
          })
        : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No scheduled functions."))]),
    );
    calls.replaceChildren(
      ...(app.calls.length
        ? app.calls.map((c) => h("tr", {}, h("td", {}, c.id), h("td", {}, c.function), h("td", {}, when(c.startedAt)), h("td", { class: "num" }, ms(c.durationMs)), h("td", {}, h("span", { class: `state ${c.outcome}`, title: c.error ?? "" }, c.outcome))))
        : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No calls since the app started."))]),
    );
    versions.replaceChildren(
      ...app.versions.map((v) => {
        const current = v.n === app.version;
        const button = current ? h("span", { class: "muted" }, "live") : h("button", { "data-testid": `rollback-${v.n}` }, "Rollback");
        if (!current) {
          button.addEventListener("click", async () => {
            button.disabled = true;
            note.textContent = `rolling back to v${v.n}…`;
            const out = await post(`/api/apps/${encodeURIComponent(name)}/rollback`, { version: v.n });
            note.textContent = out.ok ? `rolled back to v${v.n}: now v${out.version}` : `rollback failed: ${out.error}`;
          });
        }
        return h("tr", {}, h("td", {}, `v${v.n}`), h("td", {}, v.tag ?? (v.rollbackOf ? `rollback of v${v.rollbackOf}` : "–")), h("td", {}, when(v.createdAt)), h("td", {}, button));
      }),
    );
    const hist = app.history;
    // The last hour, and at least a minute: a dashboard opened seconds ago still reads as a time line.
    const end = hist.at(-1)?.t ?? Date.now() / 1000;
    const x = { min: Math.max(end - 3600, Math.min(hist[0]?.t ?? end, end - 60)), max: end };
    const draw = (c, data) => {
      c.setData(data, false);
      c.setScale("x", x);
    };
    draw(requests, rates(hist));
    draw(latency, [hist.map((s) => s.t), hist.map((s) => s.p95Ms)]);
    draw(memory, [hist.map((s) => s.t), hist.map((s) => s.rssBytes / 1024 / 1024)]);
  });
}

const m = /^\/apps\/([^/]+)$/.exec(location.pathname);
if (m) appPage(decodeURIComponent(m[1]));
else appsPage();
