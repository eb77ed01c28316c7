// Helpers shared by the deploy benchmarks (`start`, `http`, `logs`): the same tiny express app for
// nodal and for plain node/pm2, a nodal sandbox (temp dir + its own NODAL_HOME) and a pm2 sandbox
// (temp dir + its own PM2_HOME) that each kill everything they started, bounded CLI runs, RSS
// from /proc, and a follower that reads a log file as it is written.
import { spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN_DIR, NODAL_BIN, ROOT, defer, get, now, pidsWithEnv, sleep, tail } from "./lib.js";

export { pidsWithEnv };

export const PM2_BIN = join(BIN_DIR, "pm2");
export const POLL_GAP_MS = 2;
const REQUEST_TIMEOUT_MS = 2_000;

// ---------------------------------------------------------------------------------------------
// The app, twice: as a nodal app file and as a plain server for `node` and pm2.

const routes = (body) => `web.get("/", (_req, res) => { res.type("text/plain").send(${JSON.stringify(body)}); });
web.get("/print", (req, res) => {
  const n = Number(req.query.n) || 0;
  for (let i = 1; i <= n; i++) console.log(\`line \${i}\`);
  res.type("text/plain").send(\`printed \${n}\`);
});`;

/** `app.ts` for nodal: one web function `api` serving the express app. */
export const nodalApp = (body = "hello", appName = "bench-app") => `import express from "express";
import { App } from "nodal";

export const app = new App(${JSON.stringify(appName)});
const web = express();
${routes(body)}
export const api = app.webApp({}, () => web);
`;

/** `server.js` for `node` and pm2: the same express app listening on $PORT. */
export const plainServer = (body = "hello") => `const express = require("express");

const web = express();
${routes(body)}
web.listen(Number(process.env.PORT), "127.0.0.1");
`;

// ---------------------------------------------------------------------------------------------
// Processes.


/** SIGKILLs every process with NAME=value in its environment until none is left (bounded). */
export async function killAllWithEnv(name, value, timeoutMs = 5000) {
  const deadline = now() + timeoutMs;
  let killed = 0;
  for (;;) {
    const left = pidsWithEnv(name, value);
    if (left.length === 0) return { killed, left: [] };
    if (now() > deadline) return { killed, left };
    for (const p of left) {
      try {
        process.kill(p, "SIGKILL");
        killed++;
      } catch {}
    }
    await sleep(50);
  }
}

/** VmRSS of a pid in KiB (undefined when it is gone). */
export function rssKiB(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "latin1").match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The memory a set of processes holds, counting each physical page once, in KiB: what a
 * container's processes cost the machine together. A sum of RSS counts the pages they share
 * once per process (Node's own code, the libraries it maps: ~40 MiB for each Node process).
 * Read from /proc/PID/pagemap, whose page frame numbers only root can see: undefined otherwise.
 */
export function distinctResidentKiB(pids) {
  const frames = new Set();
  for (const pid of pids) {
    let maps, fd;
    try {
      maps = readFileSync(`/proc/${pid}/maps`, "latin1");
      fd = openSync(`/proc/${pid}/pagemap`, "r");
    } catch {
      continue; // gone meanwhile
    }
    try {
      for (const line of maps.split("\n")) {
        const m = line.match(/^([0-9a-f]+)-([0-9a-f]+)/);
        if (!m || line.endsWith("[vsyscall]")) continue;
        const first = Number.parseInt(m[1], 16) / PAGE;
        const pages = (Number.parseInt(m[2], 16) - Number.parseInt(m[1], 16)) / PAGE;
        for (let done = 0; done < pages; ) {
          const n = Math.min(pages - done, 1 << 16);
          const buf = Buffer.alloc(n * 8);
          const read = readSync(fd, buf, 0, buf.length, (first + done) * 8);
          const entries = new BigUint64Array(buf.buffer, buf.byteOffset, read / 8);
          for (const e of entries) {
            if (!(e >> 63n)) continue; // not present
            const pfn = Number(e & ((1n << 55n) - 1n));
            if (pfn === 0) return undefined; // not root: frame numbers read as 0
            frames.add(pfn);
          }
          done += n;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  return (frames.size * PAGE) / 1024;
}
const PAGE = 4096;

/** The command line of a pid, for notes. */
export function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/**
 * Spawns `cmd args` in a process group of its own and collects its whole output:
 * { child, stdout, stderr, exited (promise of code), done, code, kill() }.
 */
export function spawnCollect(cmd, args, { cwd, env }) {
  const fullEnv = { ...process.env, ...env, NO_COLOR: "1" };
  delete fullEnv.FORCE_COLOR;
  const child = spawn(cmd, args, { cwd, env: fullEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const p = { child, stdout: "", stderr: "", done: false, code: undefined, spawnError: null };
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d) => (p.stdout += d));
  child.stderr.on("data", (d) => (p.stderr += d));
  p.exited = new Promise((resolve) => {
    child.on("error", (e) => {
      p.spawnError = e;
      p.done = true;
      p.code = -1;
      resolve(-1);
    });
    // "close": the exit and the end of both pipes, so stdout is complete.
    child.on("close", (code, signal) => {
      p.done = true;
      p.code = code ?? (signal ? `killed by ${signal}` : -1);
      resolve(p.code);
    });
  });
  p.kill = () => {
    if (p.done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  return p;
}

/** Runs a command to completion, bounded: { code, stdout, stderr, ms, timedOut }. */
export async function runCommand(cmd, args, { cwd, env, timeoutMs = 30_000 }) {
  const t0 = now();
  const p = spawnCollect(cmd, args, { cwd, env });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill();
  }, timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout, stderr: p.stderr, ms: now() - t0, timedOut, spawnError: p.spawnError };
}

const describe = (r) =>
  r.spawnError ? r.spawnError.message : `${r.timedOut ? "timed out" : `exited with ${r.code}`}: ${tail(`${r.stdout}\n${r.stderr}`)}`;

/** Throws unless a `runCommand` result exited 0. */
export function check(r, what) {
  if (r.code !== 0 || r.timedOut) throw new Error(`${what} failed (${describe(r)})`);
  return r;
}

/**
 * Polls GET / on a fresh connection, a new request POLL_GAP_MS after the previous one ended, until
 * a 200 whose body is `body`: { ok, ms (from t0), failed, requests, last }.
 */
export async function waitForBody(port, body, t0, timeoutMs, { stopIf } = {}) {
  let failed = 0;
  let requests = 0;
  let last = "";
  for (;;) {
    const start = now();
    if (start - t0 > timeoutMs) return { ok: false, ms: start - t0, failed, requests, last };
    if (stopIf?.()) return { ok: false, ms: start - t0, failed, requests, last: `${last} (stopped: ${stopIf()})` };
    const r = await get(port, "/", Math.min(REQUEST_TIMEOUT_MS, Math.max(1, t0 + timeoutMs - start)));
    const end = now();
    requests++;
    if (r.ok && r.body === body) return { ok: true, ms: end - t0, failed, requests, last };
    if (!r.ok) {
      failed++;
      last = r.error ?? `HTTP ${r.status}`;
    } else last = `other body ${JSON.stringify(r.body.slice(0, 40))}`;
    await sleep(POLL_GAP_MS);
  }
}

export const portOf = (url) => Number(new URL(url).port);

export const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** A temp dir with `node_modules` linked to the repo's (so `express` and `nodal` resolve). */
function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `nodal-bench-${prefix}-`));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  // Its own package.json: server.js is CommonJS whatever a package.json above the temp dir says.
  writeFileSync(join(dir, "package.json"), `{ "private": true, "type": "commonjs" }\n`);
  return dir;
}

/** What cleanups had to do by force, for the notes of the part that ran them. */
const cleanupProblems = [];
export const takeCleanupProblems = () => cleanupProblems.splice(0);

/**
 * After the tool's own stop: gives its processes 2 s to exit, then SIGKILLs any left (and counts
 * them as a problem), and removes the sandbox dir.
 */
async function finishCleanup(sb, tool, varName, problems) {
  const deadline = now() + 2000;
  while (pidsWithEnv(varName, sb.home).length && now() < deadline) await sleep(50);
  const lingering = pidsWithEnv(varName, sb.home).map((pid) => `${pid} ${cmdline(pid).slice(0, 80)}`);
  if (lingering.length) problems.push(`${lingering.length} process(es) still running 2 s after the stop, killed: ${lingering.join("; ")}`);
  const { left } = await killAllWithEnv(varName, sb.home);
  if (left.length) problems.push(`${left.length} process(es) survived SIGKILL: ${left.join(", ")}`);
  rmSync(sb.dir, { recursive: true, force: true });
  for (const p of problems) cleanupProblems.push(`${tool}: ${p}`);
}

// ---------------------------------------------------------------------------------------------
// nodal: a project dir and a NODAL_HOME of its own.

export class NodalSandbox {
  constructor(prefix) {
    this.dir = tempDir(prefix);
    this.home = join(this.dir, ".nodal-home");
    this.env = { NODAL_HOME: this.home };
    /** Names deployed here (stopped one by one on close). */
    this.names = new Set();
    this.close = defer(() => this.#cleanup());
  }

  write(file, text) {
    writeFileSync(join(this.dir, file), text);
  }

  run(args, timeoutMs = 30_000) {
    return runCommand(NODAL_BIN, args, { cwd: this.dir, env: this.env, timeoutMs });
  }

  /** Spawns `nodal deploy FILE --json [--name NAME]` (the caller waits on it). */
  spawnDeploy(file = "app.ts", name) {
    if (name) this.names.add(name);
    return spawnCollect(NODAL_BIN, ["deploy", file, "--json", ...(name ? ["--name", name] : [])], {
      cwd: this.dir,
      env: this.env,
    });
  }

  /** Deploys and returns the parsed `--json` result (throws on failure). */
  async deploy(file = "app.ts", name, timeoutMs = 60_000) {
    if (name) this.names.add(name);
    const r = check(await this.run(["deploy", file, "--json", ...(name ? ["--name", name] : [])], timeoutMs), `nodal deploy ${file}`);
    const out = JSON.parse(r.stdout);
    this.names.add(out.name);
    return { ...out, ms: r.ms };
  }

  async show(name) {
    return JSON.parse(check(await this.run(["app", "show", name, "--json"]), `nodal app show ${name}`).stdout);
  }

  async list() {
    return JSON.parse(check(await this.run(["app", "list", "--json"]), "nodal app list").stdout);
  }

  /** Every pid running with this NODAL_HOME: supervisors, workers, spares. */
  pids() {
    return pidsWithEnv("NODAL_HOME", this.home);
  }

  /** `app stop` each app, then SIGKILL whatever still runs with this NODAL_HOME; removes the dir. */
  async #cleanup() {
    const problems = [];
    if (existsSync(this.home)) {
      let names = [...this.names];
      try {
        const listed = await this.list();
        names = [...new Set([...names, ...listed.filter((a) => a.state !== "stopped").map((a) => a.name)])];
      } catch {}
      for (const name of names) {
        const r = await this.run(["app", "stop", name], 30_000);
        if (r.code !== 0 && !/already stopped/.test(r.stderr + r.stdout)) problems.push(`app stop ${name}: ${describe(r)}`);
      }
    }
    await finishCleanup(this, "nodal", "NODAL_HOME", problems);
  }
}

// ---------------------------------------------------------------------------------------------
// pm2: a project dir and a PM2_HOME of its own (the daemon lives there).

export class Pm2Sandbox {
  constructor(prefix) {
    this.dir = tempDir(prefix);
    this.home = join(this.dir, ".pm2-home");
    this.env = { PM2_HOME: this.home };
    this.close = defer(() => this.#cleanup());
  }

  write(file, text) {
    writeFileSync(join(this.dir, file), text);
  }

  run(args, { env = {}, timeoutMs = 30_000 } = {}) {
    return runCommand(PM2_BIN, args, { cwd: this.dir, env: { ...this.env, ...env }, timeoutMs });
  }

  spawn(args, { env = {} } = {}) {
    return spawnCollect(PM2_BIN, args, { cwd: this.dir, env: { ...this.env, ...env } });
  }

  async jlist() {
    const r = check(await this.run(["jlist"]), "pm2 jlist");
    // pm2 may print a banner or warnings before the JSON array.
    return JSON.parse(r.stdout.slice(r.stdout.indexOf("[")));
  }

  /** Waits until `count` processes are online (bounded). */
  async waitOnline(count, timeoutMs = 30_000) {
    const deadline = now() + timeoutMs;
    for (;;) {
      const list = await this.jlist().catch(() => []);
      const online = list.filter((p) => p.pm2_env?.status === "online");
      if (online.length >= count) return list;
      if (now() > deadline) throw new Error(`pm2: ${online.length}/${count} processes online after ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }

  daemonPid() {
    try {
      return Number(readFileSync(join(this.home, "pm2.pid"), "utf8").trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  pids() {
    return pidsWithEnv("PM2_HOME", this.home);
  }

  logFile(name = "server") {
    return join(this.home, "logs", `${name}-out.log`);
  }

  /** `pm2 kill`, then SIGKILL whatever still runs with this PM2_HOME; removes the dir. */
  async #cleanup() {
    const problems = [];
    if (existsSync(this.home)) {
      const r = await this.run(["kill"], { timeoutMs: 20_000 });
      if (r.code !== 0) problems.push(`pm2 kill: ${describe(r)}`);
    }
    await finishCleanup(this, "pm2", "PM2_HOME", problems);
  }
}

// ---------------------------------------------------------------------------------------------
// Log files.

/**
 * Follows a log file as it grows (and across a rotation to FILE.1) with as little work as
 * possible while a burst is being written: each poll appends the new bytes to memory and only
 * looks for `needle` (the last line's text) in them. `stats()` parses what was read afterwards.
 */
export class LogFollower {
  constructor(file, needle) {
    this.file = file;
    this.needle = Buffer.from(needle);
    this.chunks = [];
    this.bytes = 0;
    this.fd = undefined;
    this.ino = undefined;
    this.offset = 0;
    this.tailBytes = Buffer.alloc(0);
    this.buf = Buffer.alloc(1 << 20);
  }

  /** Reads to the current end; true when the needle is in what this call read. */
  #drain() {
    let found = false;
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n <= 0) return found;
      this.offset += n;
      const chunk = Buffer.from(this.buf.subarray(0, n));
      this.chunks.push(chunk);
      this.bytes += n;
      // The needle may straddle two reads: search from the previous read's last bytes.
      const window = Buffer.concat([this.tailBytes, chunk]);
      if (window.indexOf(this.needle) !== -1) found = true;
      this.tailBytes = window.subarray(Math.max(0, window.length - this.needle.length + 1));
    }
  }

  /** Reads whatever was appended since the last call; true when it contained the needle. */
  poll() {
    let st;
    try {
      st = statSync(this.file);
    } catch {
      return false;
    }
    let found = false;
    if (this.fd !== undefined && st.ino !== this.ino) {
      // Rotated: finish the old file (still open), then start the new one from its beginning.
      found = this.#drain();
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.file, "r");
      } catch {
        return found;
      }
      this.ino = fstatSync(this.fd).ino;
      this.offset = 0;
    }
    return this.#drain() || found;
  }

  /** `lineStats` of the numbers `match` finds in the first `limit` bytes read (default: all). */
  stats(match, total, limit = this.bytes) {
    const text = Buffer.concat(this.chunks).subarray(0, limit).toString("utf8");
    const numbers = [];
    const lines = text.split("\n");
    lines.pop(); // "" after the last newline, or a line not completely read yet
    for (const l of lines) {
      const n = match(l);
      if (Array.isArray(n)) numbers.push(...n);
      else if (n !== undefined) numbers.push(n);
    }
    return lineStats(numbers, total);
  }

  close() {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Stats of `line N` numbers in order of appearance: { distinct, lost, duplicates, outOfOrder }. */
export function lineStats(numbers, total) {
  const seen = new Uint8Array(total + 1);
  let distinct = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let last = 0;
  for (const n of numbers) {
    if (n < 1 || n > total) continue;
    if (seen[n]) duplicates++;
    else {
      seen[n] = 1;
      distinct++;
    }
    if (n < last) outOfOrder++;
    last = n;
  }
  return { entries: numbers.length, distinct, lost: total - distinct, duplicates, outOfOrder };
}

export const median = (values) => {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const fmtMiB = (kib) => (kib === undefined ? "—" : (kib / 1024).toFixed(1));

/**
 * Resolves as soon as a spawned CLI's stdout is one complete JSON value (before the CLI exits):
 * { ok: true, value, at } or { ok: false, error } on exit without JSON or after `timeoutMs`.
 */
export function waitForJson(p, timeoutMs) {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      p.child.stdout.off("data", tryParse);
      resolve(r);
    };
    const tryParse = () => {
      const text = p.stdout.trim();
      if (!text.endsWith("}")) return;
      try {
        finish({ ok: true, value: JSON.parse(text), at: now() });
      } catch {}
    };
    // Registered after spawnCollect's own listener, so p.stdout already holds the chunk.
    p.child.stdout.on("data", tryParse);
    const timer = setTimeout(() => {
      p.kill();
      finish({ ok: false, error: `no JSON within ${timeoutMs / 1000} s: ${tail(`${p.stdout}\n${p.stderr}`)}` });
    }, timeoutMs);
    p.exited.then(() => {
      tryParse();
      finish({ ok: false, error: `exited with ${p.code} without JSON: ${tail(`${p.stdout}\n${p.stderr}`)}` });
    });
  });
}

/** Waits (bounded) for a spawned CLI to exit; kills its group after `timeoutMs`. */
export async function exitOf(p, timeoutMs = 30_000) {
  const timer = setTimeout(() => p.kill(), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}
