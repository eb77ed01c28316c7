// Names, ids and the wire format of cluster calls.
import assert from "node:assert/strict";
import { test } from "node:test";
import { newCallId, parseCallId, queuePrefix, waitListKey } from "../../dist/modules/cluster/keys.js";
import { decodeError, decodeValue, encodeError, encodeValue } from "../../dist/modules/cluster/codec.js";
import { callDeadlineMs } from "../../dist/modules/cluster/transport.js";

test("a call id names its app and function, and is a valid BullMQ job id", () => {
  const id = newCallId("my.app-1", "square_2");
  assert.match(id, /^fc-[0-9a-f]{20}-[A-Za-z0-9_-]+$/);
  assert.ok(!id.includes(":"));
  assert.deepEqual(parseCallId(id), { app: "my.app-1", fn: "square_2" });
  assert.notEqual(newCallId("a", "b"), newCallId("a", "b"));
  assert.equal(parseCallId("fc-0123"), undefined);
  assert.equal(parseCallId(`fc-${"0".repeat(20)}-${Buffer.from("no-slash").toString("base64url")}`), undefined);
  assert.equal(queuePrefix("shop"), "nodal:shop");
  assert.equal(waitListKey("shop", "resize"), "nodal:shop:resize:wait");
});

test("values keep the structured-clone rules; what cannot be cloned is a TypeError naming the value", () => {
  const value = { when: new Date(5), m: new Map([[1, new Set(["x"])]]), big: 10n, buf: new Uint8Array([1, 2]) };
  assert.deepEqual(decodeValue(encodeValue(value, "x")), value);
  assert.throws(() => encodeValue([() => 1], 'function "f": an argument'), { name: "TypeError", message: /^function "f": an argument cannot cross a process boundary/ });
});

test("a failure keeps the remote error's name and stack, naming the function and the attempts", () => {
  const remote = new RangeError("out of range");
  const decoded = decodeError(encodeError(remote, 3), "square");
  assert.equal(decoded.name, "RangeError");
  assert.equal(decoded.message, 'function "square" failed after 3 attempts: out of range');
  assert.equal(decoded.stack, remote.stack);
  assert.equal(decodeError(encodeError(remote, 1), "square").message, 'function "square" failed: out of range');
  assert.equal(decodeError("job stalled more than allowable limit", "square").message, 'function "square" failed: job stalled more than allowable limit');
});

test("a caller waits at most every attempt's timeout, the backoff between them, a lost replica per attempt and time in line", () => {
  const spec = { timeoutSec: 10, retries: { maxRetries: 2, initialDelaySec: 1, backoffCoefficient: 2, maxDelaySec: 60 } };
  // 60 s in line + 3 × (10 + 5 + 2) s + 1 s + 2 s of backoff.
  assert.equal(callDeadlineMs(spec), 60_000 + 3 * 17_000 + 3_000);
});

test("FunctionCall.fromId outside cluster mode looks in this machine's stored calls, not in Redis", async (t) => {
  const { FunctionCall } = await import("../../dist/modules/sdk/function-call.js");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const saved = { cluster: process.env.NODAL_CLUSTER, home: process.env.NODAL_HOME };
  const home = mkdtempSync(join(tmpdir(), "nodal-home-"));
  delete process.env.NODAL_CLUSTER;
  process.env.NODAL_HOME = home;
  t.after(() => {
    for (const [k, v] of [["NODAL_CLUSTER", saved.cluster], ["NODAL_HOME", saved.home]]) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(home, { recursive: true, force: true });
  });
  await assert.rejects(FunctionCall.fromId("fc-0123").get({ timeout: 5 }), { name: "NotFoundError", message: 'no function call "fc-0123" on this machine (results are kept 24 hours)' });
});
