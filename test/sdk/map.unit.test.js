import assert from "node:assert/strict";
import { test } from "node:test";
import { App } from "../../dist/modules/sdk/app.js";
import { setRuntime } from "../../dist/modules/sdk/runtime.js";
import { waitUntil } from "../helpers.js";

/**
 * A runtime whose calls end when the test says: `calls` lists them (args, resolve, reject) in
 * the order they started; `inFlight` counts those not ended yet.
 */
function controlledRuntime(t) {
  const rt = { calls: [], inFlight: 0, maxInFlight: 0 };
  setRuntime({
    call(fn, args) {
      rt.inFlight++;
      rt.maxInFlight = Math.max(rt.maxInFlight, rt.inFlight);
      return new Promise((resolve, reject) => {
        const end = (f) => (v) => {
          rt.inFlight--;
          f(v);
        };
        rt.calls.push({ fn, args, resolve: end(resolve), reject: end(reject) });
      });
    },
  });
  t.after(() => setRuntime(undefined));
  return rt;
}

/** A runtime that answers at once: `args` joined, or a throw for a negative first argument. */
function echoRuntime(t) {
  const seen = [];
  setRuntime({
    async call(fn, args) {
      seen.push(args);
      if (args[0] < 0) throw new RangeError(`negative: ${args[0]}`);
      return args.join("+");
    },
  });
  t.after(() => setRuntime(undefined));
  return seen;
}

function fn() {
  return new App("maps").function({ name: "f" }, async (x) => x);
}

async function collect(iter) {
  const out = [];
  for await (const v of iter) out.push(v);
  return out;
}

test("map keeps input order by default, whatever order calls end in", async (t) => {
  const rt = controlledRuntime(t);
  const results = collect(fn().map([1, 2, 3]));
  await waitUntil(() => rt.calls.length === 3, { what: "3 calls started" });
  for (const c of [...rt.calls].reverse()) c.resolve(c.args[0] * 10);
  assert.deepEqual(await results, [10, 20, 30]);
});

test("map with orderOutputs: false yields results as calls end", async (t) => {
  const rt = controlledRuntime(t);
  const results = collect(fn().map([1, 2, 3], { orderOutputs: false }));
  await waitUntil(() => rt.calls.length === 3, { what: "3 calls started" });
  rt.calls[2].resolve(30);
  await new Promise((r) => setImmediate(r));
  rt.calls[0].resolve(10);
  await new Promise((r) => setImmediate(r));
  rt.calls[1].resolve(20);
  assert.deepEqual(await results, [30, 10, 20]);
});

test("map never has more than `concurrency` calls in flight", async (t) => {
  const rt = controlledRuntime(t);
  const results = collect(fn().map([1, 2, 3, 4, 5], { concurrency: 2, orderOutputs: false }));
  for (let ended = 0; ended < 5; ended++) {
    await waitUntil(() => rt.calls.length > ended, { what: `call ${ended + 1} started` });
    assert.ok(rt.inFlight <= 2, `in flight: ${rt.inFlight}`);
    rt.calls[ended].resolve(ended);
  }
  assert.deepEqual((await results).sort(), [0, 1, 2, 3, 4]);
  assert.equal(rt.maxInFlight, 2);
});

test("map throws a call's error by default; returnExceptions yields it as a value", async (t) => {
  echoRuntime(t);
  await assert.rejects(collect(fn().map([1, -2, 3])), { name: "RangeError", message: "negative: -2" });
  const out = await collect(fn().map([1, -2, 3], { returnExceptions: true }));
  assert.equal(out[0], "1");
  assert.ok(out[1] instanceof RangeError);
  assert.equal(out[1].message, "negative: -2");
  assert.equal(out[2], "3");
});

test("starmap spreads each input as the arguments of one call", async (t) => {
  const seen = echoRuntime(t);
  const out = await collect(fn().starmap([[1, 2], [3, 4, 5], []]));
  assert.deepEqual(out, ["1+2", "3+4+5", ""]);
  assert.deepEqual(seen, [[1, 2], [3, 4, 5], []]);
  await assert.rejects(collect(fn().starmap([7])), { name: "InvalidError", message: /each input must be an array/ });
  const errs = await collect(fn().starmap([[-1], [2]], { returnExceptions: true }));
  assert.ok(errs[0] instanceof RangeError);
  assert.equal(errs[1], "2");
});

test("forEach resolves once every call ended, results dropped", async (t) => {
  const rt = controlledRuntime(t);
  let resolved = false;
  const done = fn().forEach([1, 2, 3]).then((v) => ((resolved = true), v));
  await waitUntil(() => rt.calls.length === 3, { what: "3 calls started" });
  rt.calls[0].resolve("dropped");
  rt.calls[2].resolve("dropped");
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false, "resolved before every call ended");
  rt.calls[1].resolve("dropped");
  assert.equal(await done, undefined);
});

test("forEach throws the first error to come at once, as Modal does; ignoreExceptions waits for every call", async (t) => {
  const rt = controlledRuntime(t);
  const failed = fn().forEach([1, 2, 3]);
  await waitUntil(() => rt.calls.length === 3, { what: "3 calls started" });
  rt.calls[2].reject(new RangeError("third"));
  await assert.rejects(failed, { name: "RangeError", message: "third" });
  assert.equal(rt.inFlight, 2, "the other calls had not ended");
  for (const c of rt.calls.slice(0, 2)) c.resolve();

  rt.calls.length = 0;
  let resolved = false;
  const ignoring = fn().forEach([1, 2], { ignoreExceptions: true }).then(() => (resolved = true));
  await waitUntil(() => rt.calls.length === 2, { what: "2 calls started" });
  rt.calls[0].reject(new RangeError("first"));
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false, "resolved before every call ended");
  rt.calls[1].resolve();
  assert.equal(await ignoring, true);
});

test("forEach throws a thrown non-Error value as it was", async (t) => {
  setRuntime({ call: async (_fn, [x]) => { if (x === 2) throw "plain string"; return x; } });
  t.after(() => setRuntime(undefined));
  await assert.rejects(fn().forEach([1, 2]), (e) => e === "plain string");
});
