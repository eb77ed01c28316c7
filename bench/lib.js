// Helpers shared by the benchmark parts: temp dirs, free ports, spawning a tool in a process
// group of its own and killing its whole tree, one-shot HTTP requests, statistics, markdown.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The CLI as users run it (\`nodal\` on PATH is this script). */
export const NODAL_BIN = join(ROOT, "bin", "nodal");
export const BIN_DIR = join(ROOT, "node_modules", ".bin");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

// Everything a part started and has not cleaned up yet, so Ctrl-C on the bench leaves nothing.
const live = new Set();
let exiting = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\n${sig}: cleaning up\n`);
    for (const cleanup of [...live]) await cleanup().catch(() => {});
    process.exit(130);
  });
}

/** Registers `cleanup` until the returned function is called (which runs it). */
export function defer(cleanup) {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    live.delete(run);
    await cleanup();
  };
  live.add(run);
  return run;
}

/** A fresh temp dir with `node_modules` linked to the repo's, removed by `remove()`. */
export function tempProject(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `nodal-bench-${prefix}-`));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  const remove = defer(async () => rmSync(dir, { recursive: true, force: true }));
  return { dir, remove };
}

/** A port the OS says is free right now (listen on 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `cmd args` detached (a process group of its own), with a unique BENCH_TAG in its
 * environment that every descendant inherits, and keeps the tail of its output.
 */
export function startTool(cmd, args, { cwd, env = {} }) {
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fullEnv = { ...process.env, ...env, NODAL_BENCH_TAG: tag, NO_COLOR: "1" };
  delete fullEnv.FORCE_COLOR;
  const child = spawn(cmd, args, { cwd, env: fullEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const tool = {
    child,
    tag,
    output: "",
    exited: false,
    exitInfo: null,
    spawnError: null,
    /** Kills the whole tree and waits for it (bounded). */
    stop: null,
  };
  const keep = (d) => {
    tool.output = (tool.output + d).slice(-16_384);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  tool.exitPromise = new Promise((resolve) => {
    child.on("error", (e) => {
      tool.spawnError = e;
      tool.exited = true;
      resolve();
    });
    child.on("exit", (code, signal) => {
      tool.exited = true;
      tool.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
  });
  tool.stop = defer(() => killTree(tool));
  return tool;
}

/**
 * SIGTERM to the process group (a tool's graceful stop), up to 5 s for the leader to exit, then
 * SIGKILL to the group and to every process still carrying the tool's BENCH_TAG (children that
 * made process groups of their own, e.g. nodal's workers, if their parent left them behind).
 */
async function killTree(tool) {
  const pid = tool.child.pid;
  if (pid !== undefined && !tool.exited) {
    signalGroup(pid, "SIGTERM");
    await Promise.race([tool.exitPromise, sleep(5000)]);
  }
  if (pid !== undefined) signalGroup(pid, "SIGKILL");
  const deadline = now() + 5000;
  for (;;) {
    const left = pidsTagged(tool.tag);
    if (left.length === 0 || now() > deadline) break;
    for (const p of left) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    await sleep(50);
  }
}

function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {}
}

function pidsTagged(tag) {
  return process.platform === "linux" ? pidsWithEnv("NODAL_BENCH_TAG", tag) : [];
}

/** Pids of live (non-zombie) processes whose environment has NAME=value, this process excluded. */
export function pidsWithEnv(name, value) {
  const needle = `${name}=${value}\0`;
  const pids = [];
  let entries = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (!`${readFileSync(`/proc/${e}/environ`, "latin1")}\0`.includes(needle)) continue;
      const stat = readFileSync(`/proc/${e}/stat`, "latin1");
      if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z") pids.push(Number(e));
    } catch {}
  }
  return pids;
}

/**
 * One GET on a fresh connection (no keep-alive agent), bounded by `timeoutMs`:
 * { ok, status, body, error }. ok means a 200 with its whole body read.
 */
export function get(port, path = "/", timeoutMs = 2000) {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = http.request({ host: "127.0.0.1", port, path, method: "GET", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => done({ ok: res.statusCode === 200, status: res.statusCode, body }));
      res.on("error", (e) => done({ ok: false, status: res.statusCode, body, error: e.code ?? e.message }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, error: "TIMEOUT" });
    }, timeoutMs);
    req.on("error", (e) => done({ ok: false, error: e.code ?? e.message }));
    req.end();
  });
}

/** Nearest-rank percentile of `values` (p in 0..100); undefined for none. */
export function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const fmtMs = (v) => (v === undefined ? "—" : v.toFixed(1));

/** A markdown table from rows (the first row is the header). */
export function markdownTable(rows) {
  const esc = (c) => String(c).replace(/\|/g, "\\|").replace(/\n/g, " ");
  const [head, ...body] = rows;
  const line = (r) => `| ${r.map(esc).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...body.map(line)].join("\n");
}

/** The last `n` non-empty lines of a tool's output, for error messages. */
export function tail(text, n = 6) {
  return text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-n)
    .join(" / ");
}
