import assert from "node:assert/strict";
import { test } from "node:test";
import { request, sandbox } from "../helpers.js";

const secretApp = `
import { App, Secret } from "nodal";
export const app = new App("roll");
const keys = Secret.fromName("roll-keys", { requiredKeys: ["TOKEN"] });
export const api = app.webEndpoint({ secrets: [keys] }, async () => ({ token: process.env.TOKEN, pid: process.pid }));
`;

async function json(box, args) {
  const res = await box.run(args, { timeoutMs: 60_000 });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

test("a changed secret reaches the app: deploy of unchanged code rolls over; unchanged secrets are still skipped", async (t) => {
  const box = sandbox(t, { "app.ts": secretApp });
  assert.equal((await box.run(["secret", "create", "roll-keys", "TOKEN=first-value"])).code, 0);
  const { urls } = await json(box, ["deploy", "app.ts", "--json"]);
  assert.equal(JSON.parse((await request(urls.api)).body).token, "first-value");

  const same = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /✓ Deployment skipped: no changes detected \(roll v1 is live\)/);

  assert.equal((await box.run(["secret", "create", "roll-keys", "TOKEN=second-value", "--force"])).code, 0);
  const rolled = await box.run(["deploy", "app.ts"], { timeoutMs: 60_000 });
  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(rolled.stdout, /✓ Secrets changed: roll v1 rolled over to new workers \(no code change\)/);
  const body = JSON.parse((await request(urls.api)).body);
  assert.equal(body.token, "second-value");
  // Still v1: a rollover is not a new version.
  const [rec] = await json(box, ["app", "list", "--json"]);
  assert.equal(rec.version, 1);
  // Neither value is in the app's log.
  const logs = (await box.run(["app", "logs", "roll", "--json", "-n", "1000"])).stdout;
  assert.doesNotMatch(logs, /first-value|second-value/);
});

test("app rollover starts new workers with zero failed requests and re-reads secrets", async (t) => {
  const box = sandbox(t, { "app.ts": secretApp });
  assert.equal((await box.run(["secret", "create", "roll-keys", "TOKEN=aaaa"])).code, 0);
  const { urls } = await json(box, ["deploy", "app.ts", "--json"]);
  const before = JSON.parse((await request(urls.api)).body);
  assert.equal((await box.run(["secret", "create", "roll-keys", "TOKEN=bbbb", "--force"])).code, 0);

  let failed = 0;
  let ok = 0;
  let looping = true;
  const loop = (async () => {
    while (looping) {
      const r = await request(urls.api).catch(() => ({ status: 0 }));
      if (r.status === 200) ok++;
      else failed++;
    }
  })();
  const res = await box.run(["app", "rollover", "roll"], { timeoutMs: 60_000 });
  looping = false;
  await loop;
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /✓ Rolled over roll v1: new workers, secrets and packages read again\./);
  assert.equal(failed, 0);
  assert.ok(ok > 0);
  const after = JSON.parse((await request(urls.api)).body);
  assert.equal(after.token, "bbbb");
  assert.notEqual(after.pid, before.pid);
});

test("app rollover of an app that is not running is the user's error", async (t) => {
  const box = sandbox(t, { "app.ts": secretApp });
  assert.equal((await box.run(["secret", "create", "roll-keys", "TOKEN=aaaa"])).code, 0);
  await json(box, ["deploy", "app.ts", "--json"]);
  assert.equal((await box.run(["app", "stop", "roll"])).code, 0);
  const res = await box.run(["app", "rollover", "roll"]);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /^Error: app "roll" is stopped; only a running app rolls over$/m);
  assert.match(res.stderr, /^Hint: start it with `nodal deploy /m);
  const missing = await box.run(["app", "rollover", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no app named "nope"/);
});

const named = (reply) => `
import { App } from "nodal";
export const app = new App("beta");
export const api = app.webEndpoint({}, async () => ({ reply: "${reply}" }));
`;

test("a name given with --name is an app of its own: the same file deploys under both names independently", async (t) => {
  const box = sandbox(t, { "app.ts": named("one") });
  const staging = await json(box, ["deploy", "app.ts", "--name", "beta-staging", "--json"]);
  assert.equal(staging.name, "beta-staging");
  const own = await json(box, ["deploy", "app.ts", "--json"]);
  assert.equal(own.name, "beta");
  assert.equal(own.skipped, false);
  assert.equal(own.version, 1);
  box.write({ "app.ts": named("two") });
  const next = await json(box, ["deploy", "app.ts", "--json"]);
  assert.equal(next.name, "beta");
  assert.equal(next.version, 2);
  assert.equal(JSON.parse((await request(next.urls.api)).body).reply, "two");
  assert.equal(JSON.parse((await request(staging.urls.api)).body).reply, "one");
  const again = await json(box, ["deploy", "app.ts", "--name", "beta-staging", "--json"]);
  assert.equal(again.name, "beta-staging");
  assert.equal(again.version, 2);
  assert.equal(JSON.parse((await request(staging.urls.api)).body).reply, "two");
  const list = await json(box, ["app", "list", "--json"]);
  assert.deepEqual(list.map((a) => [a.name, a.state, a.version]).sort(), [["beta", "deployed", 2], ["beta-staging", "deployed", 2]]);
});
