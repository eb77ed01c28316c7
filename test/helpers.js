// End-to-end helpers: every test gets its own temp dir and NODAL_HOME, spawns the built CLI,
// waits on output with a deadline, and kills whatever it started in cleanup.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BIN = join(ROOT, "bin", "nodal.cjs");

/** A fresh project dir and NODAL_HOME, removed after the test (with every process in it killed). */
export function sandbox(t, files = {}) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-test-"));
  const home = join(dir, ".nodal-home");
  const children = [];
  writeFiles(dir, files);
  // Unpinned ports from a range of this test's own: test files run side by side, and an app of
  // one must not take the port another's test expects back. All below Linux's ephemeral range
  // (32768 and up), where outgoing connections take their ports.
  const NODAL_BASE_PORT = String(10_000 + 100 * Math.floor(Math.random() * 220));
  const env = { ...process.env, NODAL_HOME: home, NO_COLOR: "1", NODAL_DEBUG: "1", NODAL_BASE_PORT };
  delete env.FORCE_COLOR;
  const box = {
    dir,
    home,
    env,
    write: (more) => writeFiles(dir, more),
    /** Starts the CLI in the background; see `Proc`. */
    spawn(args, opts = {}) {
      const p = new Proc(args, { cwd: dir, env: { ...env, ...opts.env }, bin: opts.bin });
      children.push(p);
      return p;
    },
    /** Runs the CLI to completion (bounded): { code, stdout, stderr }. */
    async run(args, opts = {}) {
      const p = box.spawn(args, opts);
      const code = await p.exit(opts.timeoutMs ?? 30_000);
      return { code, stdout: p.stdout, stderr: p.stderr };
    },
  };
  t.after(async () => {
    for (const p of children) await p.kill();
    // Anything still running with this NODAL_HOME (workers included) is a leak: kill it.
    for (const pid of pidsWithHome(home)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return box;
}

export function writeFiles(dir, files) {
  for (const [name, content] of Object.entries(files)) {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/**
 * A spawned CLI process with its output collected: `node bin/nodal.cjs ARGS`, or `bin ARGS`
 * (bin/nodal, the `nodal` users run, or a link to it).
 */
export class Proc {
  constructor(args, { cwd, env, bin }) {
    this.args = args;
    this.stdout = "";
    this.stderr = "";
    const [cmd, argv] = bin ? [bin, args] : [process.execPath, [BIN, ...args]];
    this.child = spawn(cmd, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout.on("data", (d) => (this.stdout += d));
    this.child.stderr.on("data", (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => resolve(code ?? 128 + signalNumber(signal))));
    this.done = false;
    this.exited.then(() => (this.done = true));
  }

  get output() {
    return this.stdout + this.stderr;
  }

  get pid() {
    return this.child.pid;
  }

  /** Waits until the output matches `re` (searching from `from`); fails with all output so far. */
  async waitFor(re, { timeoutMs = 15_000, from = 0 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(from).match(re);
      if (m) return m;
      if (this.done) throw new Error(`process exited before ${re} appeared:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; output so far:\n${this.output}`);
      await sleep(10);
    }
  }

  async exit(timeoutMs = 30_000) {
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  signal(sig) {
    if (!this.done) this.child.kill(sig);
  }

  async kill() {
    if (this.done) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

function signalNumber(signal) {
  return { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 0;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function waitUntil(fn, { timeoutMs = 10_000, intervalMs = 20, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last?.message ?? last})`);
    await sleep(intervalMs);
  }
}

/** One HTTP request on a fresh connection: { status, headers, body }. */
export function request(url, { method = "GET", body, headers = {}, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    if (body !== undefined) req.write(typeof body === "string" ? body : JSON.stringify(body));
    req.end();
  });
}

/** Pids of live processes whose environment has NODAL_HOME=home (the CLI and every worker). */
export function pidsWithHome(home) {
  const needle = `NODAL_HOME=${home}\0`;
  const pids = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if ((readFileSync(`/proc/${name}/environ`, "utf8") + "\0").includes(needle)) {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z") pids.push(Number(name));
      }
    } catch {}
  }
  return pids;
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(false);
    });
    req.on("error", () => resolve(true));
    req.on("timeout", () => req.destroy());
  });
}

/** Free loopback ports (bound at once, read, released): for servers a test starts itself. */
export async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve) => {
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** True while a process with this pid exists (a zombie counts until it is reaped). */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
