// The IPC outbox: messages posted in one turn of the event loop leave as one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { serialize } from "node:v8";
import { Outbox } from "../../dist/modules/engine/protocol.js";

/** A channel that serializes as Node's advanced IPC does (so what cannot be cloned throws), and keeps what was written. */
function channel() {
  const written = [];
  return {
    written,
    send(msg) {
      serialize(msg);
      written.push(msg);
    },
  };
}

/** The end of this turn of the event loop (after the outbox's flush, which was queued first). */
const turnEnd = () => new Promise((r) => setImmediate(r));

test("messages posted in one turn are written once, as one batch in order, at the end of the turn", async () => {
  const ch = channel();
  const out = new Outbox((m) => ch.send(m));
  out.post({ t: "call", id: 1 }, assert.fail);
  await Promise.resolve();
  out.post({ t: "call", id: 2 }, assert.fail);
  out.post({ t: "call", id: 3 }, assert.fail);
  assert.deepEqual(ch.written, [], "nothing written before the turn ends");
  await turnEnd();
  assert.deepEqual(ch.written, [{ t: "batch", msgs: [{ t: "call", id: 1 }, { t: "call", id: 2 }, { t: "call", id: 3 }] }]);
  out.post({ t: "call", id: 4 }, assert.fail);
  await turnEnd();
  assert.deepEqual(ch.written.at(-1), { t: "call", id: 4 }, "a lone message goes as itself");
  assert.equal(ch.written.length, 2);
});

test("flush sends what is queued now, so a message sent directly after it keeps its order", async () => {
  const ch = channel();
  const out = new Outbox((m) => ch.send(m));
  out.post({ t: "result", id: 1 }, assert.fail);
  out.flush();
  ch.send({ t: "activity" });
  await turnEnd();
  assert.deepEqual(ch.written, [{ t: "result", id: 1 }, { t: "activity" }], "the queued flush found nothing left to send");
});

test("a value that cannot be cloned fails only its own message; the others of its batch are delivered", async () => {
  const ch = channel();
  const out = new Outbox((m) => ch.send(m));
  const errors = [];
  out.post({ t: "call", id: 1, args: [1] }, (e) => errors.push([1, e]));
  out.post({ t: "call", id: 2, args: [() => 2] }, (e) => errors.push([2, e]));
  out.post({ t: "call", id: 3, args: [3] }, (e) => errors.push([3, e]));
  await turnEnd();
  assert.deepEqual(ch.written.map((m) => m.id), [1, 3]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0][0], 2);
  assert.match(errors[0][1].message, /could not be cloned/);
});
