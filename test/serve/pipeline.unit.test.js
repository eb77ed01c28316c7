import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ServePipeline } from "../../dist/modules/serve/pipeline.js";

function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets every handler and promise chain already started run to its next wait on a stage. */
const drained = () => new Promise((r) => setImmediate(r));

const file = (name) => join(process.cwd(), name);
const build = (hash) => ({ file: `/builds/app-${hash}.mjs`, hash, inputs: [file("app.ts"), file(`${hash}.ts`)], externals: [], ms: 1 });
const version = (n, hash) => ({ n, build: build(hash), manifest: { functions: [{ name: "api" }] }, web: new Map() });

/** Stages whose every build, swap and stop waits until the test settles it. */
function fakeStages() {
  const s = {
    builds: [],
    swaps: [],
    stops: [],
    watched: [],
    lines: [],
    urls: [],
    system: [],
    killed: 0,
    closed: false,
    watcher: {
      setFiles: async (files) => void s.watched.push(files),
      settled: async () => {},
      close: async () => void (s.closed = true),
    },
    builder: {
      entry: file("app.ts"),
      build: () => {
        const d = deferred();
        s.builds.push(d);
        return d.promise;
      },
    },
    host: {
      activate: (b, n) => {
        const d = deferred();
        s.swaps.push({ build: b, n, ...d });
        return d.promise;
      },
      stop: (capMs) => {
        const d = deferred();
        s.stops.push({ capMs, ...d });
        return d.promise;
      },
      system: (line) => s.system.push(line),
      engine: { urls: { api: "http://127.0.0.1:8000" } },
    },
    kill: () => void s.killed++,
    waiting: [],
    print: {
      line: (message, error = false) => s.lines.push(error ? `stderr: ${message}` : message),
      urls: (urls) => s.urls.push(urls),
      waiting: (text) => {
        s.waiting.push(`shown: ${text}`);
        return () => s.waiting.push("ended");
      },
    },
  };
  return s;
}

function started() {
  const s = fakeStages();
  return { s, p: new ServePipeline(s, version(1, "h1")) };
}

const reloaded = (line) => line.replace(/ in \d+ ms/, "");

test("a change builds, swaps, watches the new imports, then says so", async () => {
  const { s, p } = started();
  p.dispatch({ type: "changed", files: [file("app.ts")] });
  await drained();
  assert.equal(p.state, "building");
  s.builds[0].resolve(build("h2"));
  await drained();
  assert.equal(p.state, "swapping");
  assert.equal(s.swaps[0].n, 2);
  s.swaps[0].resolve({ version: version(2, "h2"), urls: { api: "http://127.0.0.1:8000" }, ms: 1 });
  await drained();
  assert.equal(p.state, "idle");
  assert.deepEqual(s.watched, [[file("app.ts"), file("h2.ts")]]);
  assert.deepEqual(s.lines.map(reloaded), ["reloaded v2 (changed: app.ts)"]);
  assert.deepEqual(s.system, ["reloaded v2 (changed: app.ts)"]);
  assert.deepEqual(s.urls, [], "the URLs did not change");
});

test("a change during a build supersedes it: the newest sources are built, one swap names both files", async () => {
  const { s, p } = started();
  p.dispatch({ type: "changed", files: [file("a.ts")] });
  await drained();
  p.dispatch({ type: "changed", files: [file("b.ts")] });
  await drained();
  s.builds[0].resolve(build("stale"));
  await drained();
  assert.equal(s.swaps.length, 0, "the stale build is not swapped in");
  assert.equal(s.builds.length, 2);
  s.builds[1].resolve(build("h3"));
  await drained();
  s.swaps[0].resolve({ version: version(2, "h3"), urls: { api: "http://127.0.0.1:8001" }, ms: 1 });
  await drained();
  assert.deepEqual(s.lines.map(reloaded), ["reloaded v2 (changed: a.ts, b.ts)"]);
  assert.deepEqual(s.urls, [{ api: "http://127.0.0.1:8001" }], "changed URLs are printed");
});

test("a change during a swap is the next round, named alone", async () => {
  const { s, p } = started();
  p.dispatch({ type: "changed", files: [file("a.ts")] });
  await drained();
  s.builds[0].resolve(build("h2"));
  await drained();
  p.dispatch({ type: "changed", files: [file("b.ts")] });
  await drained();
  assert.equal(s.builds.length, 1, "no build while swapping");
  s.swaps[0].resolve({ version: version(2, "h2"), urls: {}, ms: 1 });
  await drained();
  assert.equal(s.builds.length, 2);
  s.builds[1].resolve(build("h3"));
  await drained();
  assert.equal(s.swaps[1].n, 3);
  s.swaps[1].resolve({ version: version(3, "h3"), urls: {}, ms: 1 });
  await drained();
  assert.deepEqual(s.lines.map(reloaded), ["reloaded v2 (changed: a.ts)", "reloaded v3 (changed: b.ts)"]);
});

test("a file changed again during the swap that names it is the next round, named again", async () => {
  const { s, p } = started();
  p.dispatch({ type: "changed", files: [file("a.ts")] });
  await drained();
  s.builds[0].resolve(build("h2"));
  await drained();
  p.dispatch({ type: "changed", files: [file("a.ts")] });
  await drained();
  s.swaps[0].resolve({ version: version(2, "h2"), urls: {}, ms: 1 });
  await drained();
  assert.equal(s.builds.length, 2, "the build of v2 may have read a.ts before its second change");
  s.builds[1].resolve(build("h2"));
  await drained();
  assert.deepEqual(s.lines.map(reloaded), ["reloaded v2 (changed: a.ts)", "a.ts changed; the build is identical, nothing to reload"]);
  assert.equal(p.state, "idle");
});

test("a build identical to the live one swaps nothing", async () => {
  const { s, p } = started();
  p.dispatch({ type: "changed", files: [file("app.ts")] });
  await drained();
  s.builds[0].resolve(build("h1"));
  await drained();
  assert.equal(s.swaps.length, 0);
  assert.equal(p.state, "idle");
  assert.deepEqual(s.lines, ["app.ts changed; the build is identical, nothing to reload"]);
});

test("a failed build or swap keeps the last good version and says which; the next change still reloads", async () => {
  const { s, p } = started();
  p.dispatch({ type: "changed", files: [file("app.ts")] });
  await drained();
  s.builds[0].reject(new Error("build failed: app.ts:1:1 unexpected ("));
  await drained();
  assert.equal(p.state, "idle");
  p.dispatch({ type: "changed", files: [file("lib.ts")] });
  await drained();
  s.builds[1].resolve(build("h2"));
  await drained();
  s.swaps[0].reject(new Error("lib exploded"));
  await drained();
  p.dispatch({ type: "changed", files: [file("lib.ts")] });
  await drained();
  s.builds[2].resolve(build("h3"));
  await drained();
  assert.equal(s.swaps[1].n, 2, "the failed version took no number");
  s.swaps[1].resolve({ version: version(2, "h3"), urls: {}, ms: 1 });
  await drained();
  assert.deepEqual(s.lines.map(reloaded), [
    "stderr: reload failed (still serving v1; changed: app.ts):\nbuild failed: app.ts:1:1 unexpected (",
    "stderr: reload failed (still serving v1; changed: lib.ts):\nlib exploded",
    "reloaded v2 (changed: lib.ts)",
  ]);
});

test("a stop closes the watcher and stops the host with a grace period; changes after it are ignored", async () => {
  const { s, p } = started();
  p.dispatch({ type: "stop", signal: "SIGTERM" });
  await drained();
  assert.equal(p.state, "stopping");
  assert.equal(s.closed, true);
  assert.deepEqual(s.stops.map((x) => x.capMs), [3000]);
  p.dispatch({ type: "changed", files: [file("app.ts")] });
  await drained();
  assert.equal(s.builds.length, 0);
  s.stops[0].resolve();
  assert.deepEqual(await p.ended, { code: 143, forced: false });
  assert.equal(s.killed, 0);
  assert.deepEqual(s.lines, ["SIGTERM received; stopping (press Ctrl-C again to force)"]);
});

test("a stop that waits for work in flight says so once it has taken 300 ms, until it is over or forced", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const quick = started();
  quick.p.dispatch({ type: "stop", signal: "SIGINT" });
  await drained();
  t.mock.timers.tick(299);
  quick.s.stops[0].resolve();
  assert.deepEqual(await quick.p.ended, { code: 130, forced: false });
  t.mock.timers.tick(1000);
  assert.deepEqual(quick.s.waiting, [], "a stop over within 300 ms shows nothing");

  const slow = started();
  slow.p.dispatch({ type: "stop", signal: "SIGINT" });
  await drained();
  t.mock.timers.tick(300);
  assert.deepEqual(slow.s.waiting, ["shown: stopping: waiting for in-flight requests and calls to finish…"]);
  slow.s.stops[0].resolve();
  assert.deepEqual(await slow.p.ended, { code: 130, forced: false });
  assert.deepEqual(slow.s.waiting.slice(1), ["ended"]);

  const forced = started();
  forced.p.dispatch({ type: "stop", signal: "SIGINT" });
  await drained();
  t.mock.timers.tick(300);
  forced.p.dispatch({ type: "stop", signal: "SIGINT" });
  assert.deepEqual(await forced.p.ended, { code: 130, forced: true });
  assert.deepEqual(forced.s.waiting.slice(1), ["ended"], "the forced stop ends the waiting line before it prints");
});

test("a second signal while stopping kills the workers and ends now; what finishes later is dropped", async () => {
  const { s, p } = started();
  p.dispatch({ type: "changed", files: [file("app.ts")] });
  await drained();
  p.dispatch({ type: "stop", signal: "SIGINT" });
  await drained();
  p.dispatch({ type: "stop", signal: "SIGINT" });
  assert.deepEqual(await p.ended, { code: 130, forced: true });
  assert.equal(s.killed, 1);
  s.builds[0].resolve(build("h2"));
  p.dispatch({ type: "stop", signal: "SIGINT" });
  await drained();
  assert.equal(s.swaps.length, 0, "a build finishing after the stop is not swapped in");
  assert.equal(s.killed, 1, "killed once");
  assert.deepEqual(s.lines, ["SIGINT received; stopping (press Ctrl-C again to force)", "SIGINT received while stopping; workers killed"]);
});

test("`nodal app stop` twice is one graceful stop, exit 0; its --grace caps the wait", async () => {
  const { s, p } = started();
  p.dispatch({ type: "stop", signal: undefined, capMs: 500 });
  p.dispatch({ type: "stop", signal: undefined });
  await drained();
  assert.equal(s.killed, 0);
  assert.deepEqual(s.stops.map((x) => x.capMs), [500]);
  s.stops[0].resolve();
  assert.deepEqual(await p.ended, { code: 0, forced: false });
  assert.deepEqual(s.lines, ["stop requested; stopping"]);
});

test("a watcher that fails after a swap is reported, and the next change still reloads", async () => {
  const { s, p } = started();
  s.watcher.setFiles = async () => {
    throw new Error("ENOSPC: System limit for number of file watchers reached");
  };
  p.dispatch({ type: "changed", files: [file("app.ts")] });
  await drained();
  s.builds[0].resolve(build("h2"));
  await drained();
  s.swaps[0].resolve({ version: version(2, "h2"), urls: {}, ms: 1 });
  await drained();
  assert.equal(p.state, "idle");
  assert.match(s.lines[0], /^stderr: error while handling "swapped": Error: ENOSPC/);
  p.dispatch({ type: "changed", files: [file("app.ts")] });
  await drained();
  assert.equal(s.builds.length, 2);
  assert.equal(p.state, "building");
});
