/**
 * `nodal dashboard`: a web UI on 127.0.0.1 reading the registry and each running app's control
 * socket. Every request needs the token (the link's `?token=`, then an HttpOnly SameSite=Strict
 * cookie, or a Bearer header); a Host other than the bound address is refused (DNS
 * rebinding); actions are POSTs whose Origin must be the dashboard's own. Nothing here reads a
 * secret: what apps tell is their `PublicManifest`, their figures and their masked logs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { serialize } from "node:v8";
import { UserError } from "../errors.js";
import { BIN_CJS, distFile } from "./files.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import { byCreatedAt, listApps, liveState, type AppRecord, type AppState } from "../registry/apps.js";
import { listVersions } from "../registry/versions.js";
import { nodalHome } from "../registry/home.js";
import { LogFollower } from "../logs/follower.js";
import { matches, readLast, type LogFilter } from "../logs/reader.js";
import type { LogRecord } from "../logs/record.js";
import { watch } from "node:fs";
import { History } from "./history.js";
import { sameToken } from "./token.js";

export { DEFAULT_DASHBOARD_PORT } from "./link.js";
const COOKIE = "nodal_dashboard";
/** How often live views get fresh figures. */
const TICK_MS = 500;

export interface DashboardOptions {
  port: number;
  token: string;
}

type App = AppRecord & { live: AppState };

const running = (a: App) => a.live === "deployed" || a.live === "ephemeral";

/** The newest instance of every app name. */
function apps(): App[] {
  const byName = new Map<string, App>();
  for (const r of listApps().sort(byCreatedAt)) byName.set(r.name, { ...r, live: liveState(r) });
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function appNamed(name: string): App {
  const app = apps().find((a) => a.name === name);
  if (!app) throw new UserError("E_NOT_FOUND", `no app named "${name}"`);
  return app;
}

export class Dashboard {
  readonly opts: DashboardOptions;
  readonly #server: Server;
  readonly #history = new History();
  #sampler: NodeJS.Timeout | undefined;
  #origin = "";

  constructor(opts: DashboardOptions) {
    this.opts = opts;
    this.#server = createServer((req, res) => void this.#handle(req, res).catch((error) => fail(res, error)));
  }

  get url(): string {
    return this.#origin;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", (e: NodeJS.ErrnoException) =>
        reject(e.code === "EADDRINUSE" ? new UserError("E_PORT_IN_USE", `port ${this.opts.port} on 127.0.0.1 is in use`, "pass another --port") : e),
      );
      this.#server.listen(this.opts.port, "127.0.0.1", () => resolve());
    });
    const port = (this.#server.address() as { port: number }).port;
    this.#origin = `http://127.0.0.1:${port}`;
    // Charts need figures from before the page was opened: every running app is sampled.
    const sample = () => void this.#sample();
    this.#sampler = setInterval(sample, 1000);
    sample();
  }

  close(): void {
    clearInterval(this.#sampler);
    this.#server.closeAllConnections();
    this.#server.close();
  }

  async #sample(): Promise<void> {
    await Promise.all(
      apps().filter(running).map(async (a) => {
        const stats = await this.#stats(a);
        if (stats) this.#history.add(a.name, stats);
      }),
    );
  }

  async #stats(a: App) {
    return (await controlRequest(controlSocketPath(a.id), "metrics", {}, 3000).catch(() => undefined))?.stats;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.#origin);
    // DNS rebinding: a page of another site resolving its name to 127.0.0.1 sends its own Host.
    if (req.headers.host !== this.#origin.slice("http://".length)) return send(res, 403, { error: "forbidden host" });
    const fromUrl = url.searchParams.get("token") ?? undefined;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const cookie = cookieValue(req.headers.cookie, COOKIE);
    const token = this.opts.token;
    if (url.pathname === "/metrics") {
      if (!sameToken(bearer, token)) return send(res, 401, { error: "a Bearer token is required" });
      return this.#metrics(res);
    }
    if (!sameToken(fromUrl, token) && !sameToken(cookie, token) && !sameToken(bearer, token)) {
      return send(res, 401, { error: "open the link `nodal dashboard` printed (it carries the token)" });
    }
    if (sameToken(fromUrl, token)) res.setHeader("set-cookie", `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    if (req.method === "POST") {
      if (req.headers.origin !== this.#origin) return send(res, 403, { error: "forbidden origin" });
      return this.#action(url.pathname, await body(req), res);
    }
    if (req.method !== "GET") return send(res, 405, { error: "method not allowed" });
    const path = url.pathname;
    if (path === "/" || /^\/apps\/[^/]+$/.test(path)) return sendFile(res, "index.html", "text/html; charset=utf-8");
    if (path === "/app.js") return sendFile(res, "app.js", "text/javascript; charset=utf-8");
    if (path === "/app.css") return sendFile(res, "app.css", "text/css; charset=utf-8");
    if (path === "/api/apps") return send(res, 200, await this.#apps());
    if (path === "/api/events") return this.#stream(res, () => this.#apps());
    let m = /^\/api\/apps\/([^/]+)$/.exec(path);
    if (m) return send(res, 200, await this.#app(decodeURIComponent(m[1]!)));
    m = /^\/api\/apps\/([^/]+)\/events$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1]!);
      return this.#stream(res, () => this.#app(name));
    }
    m = /^\/api\/apps\/([^/]+)\/logs$/.exec(path);
    if (m) return this.#logs(res, appNamed(decodeURIComponent(m[1]!)), url.searchParams);
    return send(res, 404, { error: "not found" });
  }

  /** The apps page: each name's state, version, URLs, and its figures over time. */
  async #apps() {
    return Promise.all(
      apps().map(async (a) => ({
        name: a.name,
        id: a.id,
        state: a.live,
        version: a.version,
        urls: a.live === "stopped" || a.live === "crashed" ? {} : a.urls,
        functions: a.functions,
        history: this.#history.of(a.name),
      })),
    );
  }

  /** One app: its functions' figures, schedules, versions, recent calls and chart data. */
  async #app(name: string) {
    const a = appNamed(name);
    const socket = controlSocketPath(a.id);
    const live = running(a);
    const [status, stats, calls] = live
      ? await Promise.all([
          controlRequest(socket, "status", {}, 3000).catch(() => undefined),
          this.#stats(a),
          controlRequest(socket, "calls", {}, 3000).then((r) => r.calls.slice(-50).reverse(), () => []),
        ])
      : [undefined, undefined, []];
    const versions = a.state === "ephemeral" ? [] : listVersions(a.name).map((v) => ({ n: v.n, createdAt: v.createdAt, ...(v.tag ? { tag: v.tag } : {}), ...(v.rollbackOf ? { rollbackOf: v.rollbackOf } : {}) }));
    return {
      name: a.name,
      id: a.id,
      state: a.live,
      version: a.version,
      file: a.file,
      createdAt: a.createdAt,
      stoppedAt: a.stoppedAt,
      urls: live ? a.urls : {},
      functions: status?.functions ?? a.functions.map((f) => ({ name: f, kind: a.urls[f] ? "web" : "function" })),
      stats: stats ?? null,
      health: status?.health ?? {},
      versions,
      calls,
      history: this.#history.of(a.name),
    };
  }

  /** Server-sent events: `next()` now and every TICK_MS, while the page is open. */
  #stream(res: ServerResponse, next: () => Promise<unknown>): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    let busy = false;
    const push = async () => {
      if (busy) return;
      busy = true;
      try {
        res.write(`data: ${JSON.stringify(await next())}\n\n`);
      } catch (error) {
        res.write(`event: failure\ndata: ${JSON.stringify({ error: (error as Error).message })}\n\n`);
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void push(), TICK_MS);
    void push();
    res.on("close", () => clearInterval(timer));
  }

  /** Live logs with the `app logs` filters: the last 200 entries, then each new one as it is written. */
  #logs(res: ServerResponse, app: App, params: URLSearchParams): void {
    const filter: LogFilter = {
      ...(params.get("function") ? { function: params.get("function")! } : {}),
      ...(params.get("search") ? { search: params.get("search")! } : {}),
      ...(params.get("source") ? { stream: params.get("source") as LogRecord["stream"] } : {}),
    };
    const dir = join(nodalHome(), "logs", app.id);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    const emit = (records: LogRecord[]) => {
      const shown = records.filter((r) => matches(r, filter));
      if (shown.length) res.write(`data: ${JSON.stringify(shown)}\n\n`);
    };
    const follower = new LogFollower(dir);
    try {
      emit(readLast(dir, 200, filter, follower.start()));
    } catch {}
    const read = () => {
      try {
        follower.read(emit);
      } catch {}
    };
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(dir, read);
      watcher.on("error", () => {});
    } catch {}
    // Without change events (or before the directory exists) a read a second still follows.
    const timer = setInterval(read, 1000);
    res.on("close", () => {
      clearInterval(timer);
      watcher?.close();
      follower.close();
    });
  }

  async #action(path: string, input: Record<string, unknown>, res: ServerResponse): Promise<void> {
    let m = /^\/api\/apps\/([^/]+)\/run$/.exec(path);
    if (m) {
      const a = appNamed(decodeURIComponent(m[1]!));
      if (!running(a)) throw new UserError("E_INVALID_STATE", `app "${a.name}" is not running`);
      const fn = String(input.function ?? "");
      const out = await controlRequest(controlSocketPath(a.id), "run", { fn, args: serialize([]).toString("base64") }, 10 * 60_000).then(
        (r) => ({ ok: true, runId: r.runId ?? null }),
        (error: Error) => ({ ok: false, error: error.message }),
      );
      return send(res, 200, out);
    }
    m = /^\/api\/apps\/([^/]+)\/rollback$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1]!);
      appNamed(name);
      const version = input.version === undefined ? [] : [`v${Number(input.version)}`];
      // The CLI's own rollback, under the name's lock, as `nodal app rollback` runs it.
      const { execa } = await import("execa");
      const out = await execa(process.execPath, [BIN_CJS, "app", "rollback", name, ...version, "--json"], { reject: false, stdin: "ignore", timeout: 120_000 });
      if (out.failed) return send(res, 200, { ok: false, error: out.stderr.trim() || out.shortMessage });
      const result = JSON.parse(out.stdout) as { version: number };
      return send(res, 200, { ok: true, version: result.version });
    }
    return send(res, 404, { error: "not found" });
  }

  /** Every running app's figures in the Prometheus text format, labelled with its name. */
  async #metrics(res: ServerResponse): Promise<void> {
    const texts = await Promise.all(
      apps().filter(running).map((a) => controlRequest(controlSocketPath(a.id), "metrics", { prometheus: true }, 3000).then((r) => r.prometheus ?? "", () => "")),
    );
    // HELP and TYPE once per metric name: the format allows them only once.
    const seen = new Set<string>();
    const lines = texts.flatMap((t) => t.split("\n")).filter((line) => {
      if (!line.startsWith("#")) return line !== "";
      if (seen.has(line)) return false;
      seen.add(line);
      return true;
    });
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(lines.join("\n") + "\n");
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}

function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      if (data.length < 64 * 1024) data += d;
    });
    req.on("end", () => {
      try {
        const parsed = JSON.parse(data || "{}") as unknown;
        resolve(parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {});
      } catch {
        resolve({});
      }
    });
  });
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

function fail(res: ServerResponse, error: unknown): void {
  if (res.headersSent) return void res.end();
  const e = error as UserError;
  send(res, e.code === "E_NOT_FOUND" ? 404 : e instanceof UserError ? 400 : 500, { error: e.message });
}

const files = new Map<string, Buffer>();
function sendFile(res: ServerResponse, name: string, type: string): void {
  let data = files.get(name);
  if (!data) files.set(name, (data = readFileSync(distFile("dashboard", name))));
  res.writeHead(200, { "content-type": type, "cache-control": "no-store", "x-frame-options": "DENY", "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'" });
  res.end(data);
}
