import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BIN, request, sandbox, waitUntil } from "../helpers.js";

const app = `
import express from "express";
import { App } from "nodal";
export const app = new App("flw");
const web = express();
web.get("/say", (req, res) => { console.log(String(req.query.text)); res.json({ ok: true }); });
// Many writes: one console.log a line.
web.get("/burst", (req, res) => {
  const n = Number(req.query.n);
  for (let i = 0; i < n; i++) console.log("burst " + i);
  res.json({ printed: n });
});
// One write of n lines.
web.get("/block", (req, res) => {
  const n = Number(req.query.n);
  process.stdout.write(Array.from({ length: n }, (_, i) => "block " + i).join("\\n") + "\\n");
  res.json({ printed: n });
});
export const api = app.webApp({}, () => web);
`;

async function deploy(box, env = {}) {
  const res = await box.run(["deploy", "app.ts", "--json"], { timeoutMs: 60_000, env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

/** The numbers after `prefix` in the follower's JSON lines, in the order printed. */
function numbered(stdout, prefix) {
  const out = [];
  for (const text of stdout.split("\n")) {
    if (!text) continue;
    const { line } = JSON.parse(text);
    if (line.startsWith(prefix)) out.push(Number(line.slice(prefix.length)));
  }
  return out;
}

function assertEveryOnce(got, n, what) {
  assert.equal(got.length, n, `${what}: ${got.length} lines of ${n}`);
  for (let i = 0; i < n; i++) if (got[i] !== i) assert.fail(`${what}: line ${i} is number ${got[i]}`);
}

test("app logs -f --json keeps every line of a single 200k-line write and of a 150k burst across rotations", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  // Small files: each burst (~2.5 MB stored) rotates the log while the follower reads. Not
  // smaller: a burst written faster than it is read must fit in the 5 kept files, or the
  // writer deletes a file before the follower gets to it.
  const { urls } = await deploy(box, { NODAL_LOG_MAX_BYTES: String(1024 * 1024) });
  await request(`${urls.api}/say?text=follow-from-here`);
  await waitUntil(async () => (await box.run(["app", "logs", "flw", "--search", "follow-from-here"])).stdout.includes("follow-from-here"), { what: "the marker in the log" });
  const follow = box.spawn(["app", "logs", "flw", "-f", "--json", "--tail", "1", "--function", "api", "--source", "stdout"]);
  await follow.waitFor(/follow-from-here/);

  const block = await request(`${urls.api}/block?n=200000`, { timeoutMs: 60_000 });
  assert.equal(block.status, 200);
  await follow.waitFor(/"block 199999"/, { timeoutMs: 60_000 });
  assertEveryOnce(numbered(follow.stdout, "block "), 200_000, "the single write");

  const burst = await request(`${urls.api}/burst?n=150000`, { timeoutMs: 60_000 });
  assert.equal(burst.status, 200);
  await follow.waitFor(/"burst 149999"/, { timeoutMs: 60_000 });
  assertEveryOnce(numbered(follow.stdout, "burst "), 150_000, "the burst");
  const { id } = JSON.parse((await box.run(["app", "show", "flw", "--json"])).stdout);
  const rotated = readdirSync(join(box.home, "logs", id)).filter((f) => /^app\.log\.\d+$/.test(f));
  assert.ok(rotated.length >= 2, `the log rotated (${rotated.join(", ")})`);

  // The follower ends by itself once the app stops, having printed nothing else.
  assert.equal((await box.run(["app", "stop", "flw"])).code, 0);
  assert.equal(await follow.exit(15_000), 0, follow.stderr);
  assert.equal(follow.stderr, "");
  assert.equal(numbered(follow.stdout, "").length, 1 + 200_000 + 150_000);
});

test("app logs: bad --source, --since and --until are usage errors; an unknown --function names the known ones", async (t) => {
  const box = sandbox(t, { "app.ts": app });
  const { urls } = await deploy(box);
  const cases = [
    [["--source", "stdin"], /argument 'stdin' is invalid\. Allowed choices are stdout, stderr, system\./],
    [["--since", "yesterday-ish"], /option '--since <time>' argument 'yesterday-ish' is invalid\. Use 30m, 2h, 1d or an ISO-8601 time/],
    [["--until", "soon"], /option '--until <time>' argument 'soon' is invalid/],
  ];
  for (const [args, re] of cases) {
    const res = await box.run(["app", "logs", "flw", ...args]);
    assert.equal(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
    assert.match(res.stderr, re);
    assert.doesNotMatch(res.stderr, /^\s+at /m);
  }
  const fn = await box.run(["app", "logs", "flw", "--function", "apii"]);
  assert.equal(fn.code, 1, fn.stderr);
  assert.match(fn.stderr, /app "flw" has no function "apii"/);
  assert.match(fn.stderr, /its functions are api \(and "nodal" for its lifecycle lines\)/);
  assert.doesNotMatch(fn.stderr, /looks like a bug|^\s+at /m);
  // The known ones still work, nodal's own lines included.
  await request(`${urls.api}/say?text=${encodeURIComponent("\x1b[2Jraw\x1b[31mred")}`);
  const out = await waitUntil(async () => {
    const res = await box.run(["app", "logs", "flw", "--function", "api"]);
    return res.code === 0 && res.stdout.includes("raw") && res.stdout;
  }, { what: "the api line" });
  // Not a terminal: app output is printed byte for byte.
  assert.ok(out.includes("\x1b[2Jraw\x1b[31mred"), JSON.stringify(out));
  // On a terminal (script(1) gives it one), the screen-clearing sequence is shown as text and
  // the colour kept; --json stays byte for byte.
  if (existsSync("/usr/bin/script")) {
    const tty = await box.run(["-qec", `${process.execPath} ${BIN} app logs flw --function api`, "/dev/null"], { bin: "/usr/bin/script" });
    assert.equal(tty.code, 0, tty.stderr);
    assert.ok(tty.stdout.includes("\\x1b[2Jraw\x1b[31mred"), JSON.stringify(tty.stdout));
    const json = await box.run(["-qec", `${process.execPath} ${BIN} app logs flw --function api --json`, "/dev/null"], { bin: "/usr/bin/script" });
    assert.ok(json.stdout.includes(JSON.stringify("\x1b[2Jraw\x1b[31mred").slice(1, -1)), JSON.stringify(json.stdout));
  }
  const own = await box.run(["app", "logs", "flw", "--function", "nodal"]);
  assert.equal(own.code, 0, own.stderr);
  assert.match(own.stdout, /\[nodal nodal\]/);
});
