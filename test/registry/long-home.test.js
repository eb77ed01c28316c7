import assert from "node:assert/strict";
import { readdirSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { pidsWithHome, request, sandbox } from "../helpers.js";

test("deploy, request and stop work with a NODAL_HOME too long for a socket path", async (t) => {
  const box = sandbox(t, {
    "app.ts": `import { App } from "nodal";
export const app = new App("longhome");
export const hello = app.webEndpoint({}, async () => ({ ok: true }));
`,
  });
  const home = join(box.dir, "h".repeat(Math.max(1, 110 - box.dir.length - 1)));
  assert.ok(home.length >= 110 && Buffer.byteLength(join(home, "run", "ap-0123456789.sock")) > 107);
  const short = `/tmp/nodal-${process.getuid()}-${createHash("sha256").update(home).digest("hex").slice(0, 12)}`;
  t.after(() => {
    for (const pid of pidsWithHome(home)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    rmSync(short, { recursive: true, force: true });
  });
  const env = { NODAL_HOME: home };

  const res = await box.run(["deploy", "app.ts", "--json"], { env, timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  const { urls, id } = JSON.parse(res.stdout);
  assert.deepEqual(JSON.parse((await request(urls.hello)).body), { ok: true });
  assert.deepEqual(readdirSync(short), [`${id}.sock`]);
  assert.equal(statSync(short).mode & 0o777, 0o700);
  assert.equal(statSync(join(short, `${id}.sock`)).mode & 0o777, 0o600);

  const show = await box.run(["app", "show", "longhome", "--json"], { env });
  assert.equal(show.code, 0, show.stderr);
  assert.ok(JSON.parse(show.stdout).pids.supervisor > 0, "show reached the app over its socket");

  const stop = await box.run(["app", "stop", "longhome"], { env });
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /Stopped app longhome/);
  assert.deepEqual(pidsWithHome(home), []);
  assert.deepEqual(readdirSync(short), [], "the socket is removed with its app");
});
