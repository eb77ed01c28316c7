import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FrontDoor } from "../../dist/modules/engine/front-door.js";
import { request, waitUntil } from "../helpers.js";

/** A worker that takes every connection it is sent and keeps it (or refuses, when `alive` is false). */
function fakeWorker(name) {
  const w = {
    name,
    alive: true,
    sockets: [],
    send(msg, socket) {
      if (!w.alive) return false;
      assert.deepEqual(msg, { t: "conn" });
      w.sockets.push(socket);
      return true;
    },
  };
  return w;
}

async function openDoor(t, opts) {
  const door = await FrontDoor.open("api", "127.0.0.1", 0, true, opts);
  t.after(() => door.close());
  return door;
}

/** Connects a client; the socket is destroyed after the test. */
function client(t, port) {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  t.after(() => socket.destroy());
  return socket;
}

test("connections go to the active workers in turn; a worker that refuses is skipped", async (t) => {
  const door = await openDoor(t);
  const a = fakeWorker("a");
  const b = fakeWorker("b");
  door.setActive([a, b]);
  const taken = () => a.sockets.length + b.sockets.length;
  for (let i = 1; i <= 4; i++) {
    client(t, door.port);
    await waitUntil(() => taken() === i, { what: `connection ${i} handed over` });
  }
  assert.equal(a.sockets.length, 2);
  assert.equal(b.sockets.length, 2);
  b.alive = false;
  client(t, door.port);
  await waitUntil(() => taken() === 5, { what: "connection 5 handed over" });
  assert.equal(a.sockets.length, 3, "b refused, so a took it");
});

test("while no worker is active connections wait, and go to the first worker that arrives", async (t) => {
  const door = await openDoor(t, { waitMs: 60_000 });
  client(t, door.port);
  client(t, door.port);
  await waitUntil(() => door.queued === 2, { what: "two queued connections" });
  const a = fakeWorker("a");
  door.setActive([a]);
  assert.equal(a.sockets.length, 2);
  assert.equal(door.queued, 0);
  // A removed worker gets nothing more: the next connection waits again.
  door.remove(a);
  client(t, door.port);
  await waitUntil(() => door.queued === 1, { what: "the next connection queued" });
  assert.equal(a.sockets.length, 2);
});

test("a connection waiting while no worker is active asks for one (scale from zero) and gets it", async (t) => {
  const door = await openDoor(t, { waitMs: 60_000 });
  let asked = 0;
  const a = fakeWorker("a");
  door.onWaiting(() => {
    asked++;
    // The worker arrives later than the ask, as a started one does.
    setImmediate(() => door.setActive([a]));
  });
  client(t, door.port);
  await waitUntil(() => a.sockets.length === 1, { what: "the connection handed to the started worker" });
  assert.equal(asked, 1);
  assert.equal(door.queued, 0);
  // With a worker active, a connection goes straight to it and asks for nothing.
  client(t, door.port);
  await waitUntil(() => a.sockets.length === 2, { what: "the next connection handed over" });
  assert.equal(asked, 1);
});

test("a connection that no worker takes within the bounded wait gets a 503 with a JSON body", async (t) => {
  const door = await openDoor(t, { waitMs: 50 });
  const res = await request(door.url, { method: "POST", body: { some: "payload" }, timeoutMs: 5000 });
  assert.equal(res.status, 503);
  assert.match(res.headers["content-type"], /application\/json/);
  assert.match(JSON.parse(res.body).error, /web function "api" has no worker ready/);
  assert.equal(door.queued, 0);
});

test("close() frees the port even after a connection was handed to a real child that has exited", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nodal-door-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const childFile = join(dir, "child.cjs");
  // Answers the one connection it is given, then exits.
  writeFileSync(
    childFile,
    `process.on("message", (m, socket) => { socket.end("HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\nok", () => process.exit(0)); });\n`,
  );
  const child = fork(childFile, [], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  const exited = new Promise((r) => child.once("exit", r));
  const door = await FrontDoor.open("api", "127.0.0.1", 0, true);
  door.setActive([{ send: (msg, socket) => child.send(msg, socket) }]);
  const res = await request(door.url);
  assert.equal(res.body, "ok");
  await exited;
  let timer;
  const closed = await Promise.race([
    door.close().then(() => "closed"),
    new Promise((r) => (timer = setTimeout(() => r("still waiting after 5 s"), 5000))),
  ]);
  clearTimeout(timer);
  assert.equal(closed, "closed");
  // The port is free the moment close() resolved: it can be bound again at once.
  const again = createServer();
  const bound = await new Promise((resolve) => {
    again.once("error", (e) => resolve(e.code));
    again.listen({ port: door.port, host: "127.0.0.1", exclusive: true }, () => resolve("bound"));
  });
  again.close();
  assert.equal(bound, "bound");
});
