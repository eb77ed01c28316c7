// A real redis-server for cluster tests: a free loopback port, persistence off, a temp dir;
// stopped by pid after the test. No mock of Redis anywhere.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../helpers.js";

export { freePorts };

export const REDIS_SERVER = process.env.REDIS_SERVER ?? "redis-server";


/** True when a Redis answers PING on `port`. */
export function pings(port) {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    let data = "";
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => {
      data += d;
      if (data.includes("\r\n")) done(data.startsWith("+PONG"));
    });
  });
}

/**
 * Starts redis-server; `{ url, port, pid, kill(), start() }`. `kill()` is a SIGKILL (what a
 * crashed or evicted Redis looks like); `start()` starts it again on the same port, empty.
 */
export async function startRedis(t) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-redis-"));
  const [port] = await freePorts(1);
  let child;
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid;
    },
    async start() {
      child = spawn(REDIS_SERVER, ["--save", "", "--appendonly", "no", "--dir", dir, "--port", String(port), "--bind", "127.0.0.1"], { stdio: "ignore" });
      const exited = new Promise((r) => child.once("exit", r));
      child.exitedPromise = exited;
      const deadline = Date.now() + 10_000;
      while (!(await pings(port))) {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port} within 10 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, "SIGKILL");
      await child.exitedPromise;
    },
  };
  await redis.start();
  t.after(async () => {
    await redis.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return redis;
}
