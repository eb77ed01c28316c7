// A web worker told `count: false` (a pod's engine records nothing) sends no request figures;
// one told nothing sends them. Real worker processes and a real connection handed over; the
// worker's stop flushes what it counted, so the absence is checked once it has exited.
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { Builder } from "../../dist/modules/loader/build.js";
import { Worker } from "../../dist/modules/engine/worker.js";
import { request, sandbox } from "../helpers.js";

const app = `
import { App } from "nodal";
export const app = new App("counts");
export const api = app.webEndpoint({ method: "GET" }, async () => ({ ok: true }));
`;

/** Serves one request through a worker started with `opts`, stops it; the stats messages it sent. */
async function statsSent(t, bundle, file, opts) {
  const worker = new Worker();
  t.after(() => worker.kill());
  const stats = [];
  worker.onMessage((msg) => msg.t === "stats" && stats.push(msg));
  await worker.load(bundle, file, undefined, {});
  await worker.start("api", opts);
  const door = net.createServer({ pauseOnConnect: true }, (socket) => worker.send({ t: "conn" }, socket));
  await new Promise((resolve) => door.listen(0, "127.0.0.1", resolve));
  t.after(() => door.close());
  const res = await request(`http://127.0.0.1:${door.address().port}/`);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { ok: true });
  await worker.stop(5000);
  return stats;
}

test("a worker started with count: false sends no request figures; by default it sends them", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const builder = new Builder(join(box.dir, "app.ts"), join(box.dir, "out"));
  const { file: bundle } = await builder.build();
  await builder.dispose();
  const file = join(box.dir, "app.ts");

  assert.deepEqual(await statsSent(t, bundle, file, { count: false }), []);
  const counted = await statsSent(t, bundle, file, {});
  assert.equal(counted.reduce((n, m) => n + m.requests, 0), 1);
});
