// Part `dashboard`: how fast the dashboard shows what it is there to show, in Debian's Chromium
// driven by playwright-core.
// (a) 50 deployed apps in one NODAL_HOME, `nodal dashboard` on it: navigation start → the 50 app
//     rows with their state in the DOM, on a fresh page each time (target: median ≤ 300 ms).
// (b) An app whose web route prints a unique line, its page open at the live log view: request
//     sent → that line in the DOM (target: p50 ≤ 250 ms).
import { chromium } from "playwright-core";
import { NODAL_BIN, defer, fmtMs, freePort, get, now, percentile, pidsWithEnv, sleep, startTool, tail } from "./lib.js";
import { idleApp } from "./fifty.js";
import { NodalSandbox, loadavg, median, portOf, takeCleanupProblems } from "./sandboxes.js";

export const title = "The dashboard in a browser (`dashboard`)";

const CHROMIUM = "/usr/bin/chromium";
const APPS = Number(process.env.BENCH_APPS ?? 50);
/** Deploys running side by side while the apps are set up. */
const DEPLOY_CONCURRENCY = 3;
const LOAD_TIMEOUT_MS = 15_000;
const LINE_TIMEOUT_MS = 5_000;
const TARGET_FIRST_DATA_MS = 300;
const TARGET_LINE_P50_MS = 250;


// The printer: each request prints the marker it is given, then answers.
const printerApp = `import { App } from "nodal";
export const app = new App("printer");
export const api = app.webEndpoint({ method: "GET" }, async (query: Record<string, string>) => {
  console.log(\`printed \${query.mark}\`);
  return { printed: query.mark };
});
`;

/**
 * Runs in each page before its own scripts. On the apps page it notes when `want` (> 0) rows with
 * their state are in the DOM (performance.now(): ms since navigation start) and the frame after
 * that; on an app page, when a log line carrying a marker is added (Date.now(), the clock the
 * bench takes its start from).
 */
function pageProbe({ want, prefix }) {
  const probe = (window.__bench = { marks: {} });
  const rowsWithState = () => {
    const cells = document.querySelectorAll('table[data-testid="apps"] tr[data-app] [data-testid^="state-"]');
    let n = 0;
    let deployed = 0;
    for (const c of cells) {
      if (c.textContent) n++;
      if (c.textContent === "deployed") deployed++;
    }
    return { n, deployed };
  };
  const markRe = new RegExp(`${prefix}-(\\d+)`);
  new MutationObserver((records) => {
    if (want > 0 && probe.rowsAt === undefined) {
      const rows = rowsWithState();
      if (rows.n >= want) {
        probe.rowsAt = performance.now();
        probe.rows = rows;
        requestAnimationFrame(() => (probe.frameAt = performance.now()));
      }
    }
    for (const r of records) {
      if (r.target.id !== "logs") continue;
      for (const node of r.addedNodes) {
        const m = markRe.exec(node.textContent ?? "");
        if (m && probe.marks[m[1]] === undefined) probe.marks[m[1]] = Date.now();
      }
    }
  }).observe(document, { childList: true, subtree: true });
}

/** Deploys `count` apps named app-0…, a few at a time; on a failure, lets the others finish first. */
async function deployMany(sb, count, log) {
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async () => {
    while (next < count && !failed) {
      const i = next++;
      sb.write(`app-${i}.ts`, idleApp(`app-${i}`));
      try {
        await sb.deploy(`app-${i}.ts`, `app-${i}`, 120_000);
      } catch (error) {
        failed = true;
        throw error;
      }
      if (++done % 10 === 0) log(`dashboard: ${done}/${count} apps deployed`);
    }
  };
  // Every deploy ends before the sandbox's cleanup may start stopping apps.
  const results = await Promise.allSettled(Array.from({ length: DEPLOY_CONCURRENCY }, worker));
  const failure = results.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
}

/** `nodal dashboard --port P` on the sandbox's home: { tool, link, origin }. */
async function startDashboard(sb) {
  const port = await freePort();
  const tool = startTool(NODAL_BIN, ["dashboard", "--port", String(port)], { cwd: sb.dir, env: sb.env });
  const deadline = now() + 30_000;
  for (;;) {
    const m = /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/\?token=([0-9a-f]+))\n/.exec(tool.output);
    if (m) return { tool, link: m[1], token: m[2], origin: `http://127.0.0.1:${port}` };
    if (tool.exited) throw new Error(`nodal dashboard ${tool.exitInfo}: ${tail(tool.output)}`);
    if (now() > deadline) throw new Error(`nodal dashboard printed no link within 30 s: ${tail(tool.output)}`);
    await sleep(20);
  }
}

/**
 * Headless Chromium with a unique tag in its environment, so that every process it started can
 * be found and killed even if closing it fails.
 */
async function startBrowser() {
  const tag = `${process.pid}-chromium-${Math.random().toString(36).slice(2, 10)}`;
  const killAll = async () => {
    for (const pid of pidsWithEnv("NODAL_BENCH_TAG", tag)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  };
  // Registered before the launch: an interrupted launch leaves nothing either.
  const stopTagged = defer(killAll);
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      env: { ...process.env, NODAL_BENCH_TAG: tag },
      // Playwright's own handlers would exit this process on Ctrl-C before the apps are stopped:
      // the bench's cleanup (lib.js) closes the browser with everything else.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      // The machine may have no network: background networking would only flood refused connections.
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  } catch (error) {
    await stopTagged();
    throw error;
  }
  const close = defer(async () => {
    await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    await stopTagged();
  });
  return { browser, close };
}

/** (a): `loads` fresh pages of the apps page; per load the probe's figures and the navigation timing. */
async function firstData(browser, link, loads, log) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.addInitScript(pageProbe, { want: APPS, prefix: "unused" });
  const out = [];
  try {
    for (let i = 0; i < loads; i++) {
      const page = await context.newPage();
      try {
        await page.goto(link);
        await page.waitForFunction(() => window.__bench.frameAt !== undefined, null, { timeout: LOAD_TIMEOUT_MS });
        const r = await page.evaluate(() => {
          const nav = performance.getEntriesByType("navigation")[0];
          return { ...window.__bench, responseEnd: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventEnd };
        });
        if (r.rows.deployed !== APPS) throw new Error(`load ${i + 1}: ${r.rows.deployed} of ${APPS} rows show "deployed"`);
        out.push(r);
        log(`  load ${i + 1}/${loads}: rows in the DOM at ${fmtMs(r.rowsAt)} ms, next frame ${fmtMs(r.frameAt)} ms`);
      } finally {
        await page.close();
      }
    }
  } finally {
    await context.close();
  }
  return out;
}

/** (b): `prints` requests to the printer; per request the ms from sending it to its line in the DOM. */
async function printToScreen(browser, origin, token, url, prints, log) {
  const prefix = `mark${Date.now().toString(36)}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.addInitScript(pageProbe, { want: 0, prefix });
  const port = portOf(url);
  const shown = [];
  const answered = [];
  try {
    const page = await context.newPage();
    await page.goto(`${origin}/apps/printer?token=${token}`);
    await page.locator("#logs").waitFor({ timeout: LOAD_TIMEOUT_MS });
    // Mark 0 warms the path (a worker started, the log stream open) and is not counted.
    for (let i = 0; i <= prints; i++) {
      const t0 = Date.now();
      const r = await get(port, `/?mark=${prefix}-${i}`, LINE_TIMEOUT_MS);
      const t1 = Date.now();
      if (!r.ok) throw new Error(`printer request ${i}: ${r.error ?? `HTTP ${r.status}`}`);
      const seenAt = await page
        .waitForFunction((n) => window.__bench.marks[n], String(i), { timeout: i === 0 ? LOAD_TIMEOUT_MS : LINE_TIMEOUT_MS })
        .then((h) => h.jsonValue(), () => undefined);
      if (seenAt === undefined) throw new Error(`the line of request ${i} was not in the live log view within ${(i === 0 ? LOAD_TIMEOUT_MS : LINE_TIMEOUT_MS) / 1000} s`);
      if (i === 0) continue;
      shown.push(seenAt - t0);
      answered.push(t1 - t0);
      if (i % 10 === 0) log(`  print ${i}/${prints}: ${seenAt - t0} ms`);
    }
  } finally {
    await context.close();
  }
  return { shown, answered };
}

export async function run(opts) {
  const loads = opts.runs ?? 10;
  const prints = 3 * loads;
  const log = opts.log ?? (() => {});
  const loadAtStart = loadavg();
  const sb = new NodalSandbox("dashboard");
  let dashboard;
  let browser;
  let pages;
  let lines;
  try {
    await deployMany(sb, APPS, log);
    dashboard = await startDashboard(sb);
    browser = await startBrowser();
    log(`dashboard: ${loads} loads of the apps page with ${APPS} apps`);
    pages = await firstData(browser.browser, dashboard.link, loads, log);
    sb.write("printer.ts", printerApp);
    const printer = await sb.deploy("printer.ts");
    log(`dashboard: ${prints} prints to the live log view`);
    lines = await printToScreen(browser.browser, dashboard.origin, dashboard.token, printer.urls.api, prints, log);
  } finally {
    await browser?.close();
    await dashboard?.tool.stop();
    await sb.close();
  }
  const loadAtEnd = loadavg();

  const [first, ...later] = pages;
  const all = median(pages.map((p) => p.rowsAt));
  const laterMedian = median(later.map((p) => p.rowsAt));
  const p50 = percentile(lines.shown, 50);
  const p95 = percentile(lines.shown, 95);
  const mark = (ok) => (ok ? "✓" : "✗");
  const table = [
    ["measure", "result (ms)", "next frame (ms)", "target"],
    [`first data on screen, ${APPS} apps: median of ${pages.length} loads`, fmtMs(all), fmtMs(median(pages.map((p) => p.frameAt))), `≤ ${TARGET_FIRST_DATA_MS} ${mark(all <= TARGET_FIRST_DATA_MS)}`],
    ["  the first load (a new browser context)", fmtMs(first.rowsAt), fmtMs(first.frameAt), ""],
    [`  later loads: median of ${later.length} (min–max)`, later.length ? `${fmtMs(laterMedian)} (${fmtMs(Math.min(...later.map((p) => p.rowsAt)))}–${fmtMs(Math.max(...later.map((p) => p.rowsAt)))})` : "—", fmtMs(median(later.map((p) => p.frameAt))), ""],
    [`print → visible in the live log view: p50 of ${lines.shown.length}`, fmtMs(p50), "", `≤ ${TARGET_LINE_P50_MS} ${mark(p50 <= TARGET_LINE_P50_MS)}`],
    ["  p95 (max)", `${fmtMs(p95)} (${fmtMs(Math.max(...lines.shown))})`, "", ""],
  ];
  const notes = [
    `First data: ${APPS} apps deployed (\`nodal deploy app-N.ts --name app-N\`, ${DEPLOY_CONCURRENCY} at a time; one-route express apps with \`scaledownWindow: 2\`, so idle with no worker, as in \`fifty\`) into one NODAL_HOME, and \`nodal dashboard --port P\` on it. Each load is a new tab in one headless Chromium (${CHROMIUM}, playwright-core) opening the printed token link; the time is the page's own \`performance.now()\` (ms since its navigation start) when a MutationObserver, installed before the page's scripts, first sees ${APPS} app rows each with its state in the DOM (all checked to be "deployed"); "next frame" is the \`requestAnimationFrame\` after that. Medians over loads: the HTML's responseEnd ${fmtMs(median(pages.map((p) => p.responseEnd)))} ms, DOMContentLoaded ${fmtMs(median(pages.map((p) => p.domContentLoaded)))} ms.`,
    `Print → visible: an app whose web endpoint prints \`printed MARK\` and answers, deployed into the same home after the loads (so ${APPS} idle apps are there too), its page open in the browser. Per request: \`Date.now()\` in the bench just before a GET on a fresh connection; the page's MutationObserver on the live log view (\`#logs\`) records \`Date.now()\` when the line with that request's marker is added; the difference is the figure (one clock, 1 ms resolution). Requests one after another, each once the previous line was seen; a first, uncounted request warms the path. The GET's own answer took p50 ${fmtMs(percentile(lines.answered, 50))} ms of it.`,
    `The path of a line: the worker's stdout → its engine (the supervisor) → the app's log file → the dashboard's file watch and follower → server-sent events → EventSource → the DOM.`,
  ];
  const cleanup = takeCleanupProblems();
  if (cleanup.length) notes.push(`Cleanup had to force: ${cleanup.slice(0, 5).join(" | ")}${cleanup.length > 5 ? ` (and ${cleanup.length - 5} more)` : ""}.`);
  notes.push(`Load average at the start of this part: ${loadAtStart}; at its end: ${loadAtEnd}.`);
  return { title, table, notes };
}
