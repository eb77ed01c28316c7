import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { controlRequest, serveControl } from "../../dist/modules/engine/control.js";
import { UserError } from "../../dist/modules/errors.js";

/** A control socket in a fresh temp dir serving `handlers`, closed after the test. */
async function serving(t, handlers) {
  const dir = mkdtempSync(join(tmpdir(), "nodal-control-"));
  const path = join(dir, "app.sock");
  const server = await serveControl(path, handlers);
  t.after(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

test("a request reaches its op's handler with its body, and the handler's answer comes back", async (t) => {
  const seen = [];
  const path = await serving(t, {
    ping: async () => ({ pid: 4242 }),
    calls: async (request) => {
      seen.push(request);
      return { calls: [{ id: "fc-1", function: request.fn, startedAt: 1, durationMs: 2, outcome: "success" }] };
    },
  });
  assert.deepEqual(await controlRequest(path, "ping", {}), { pid: 4242 });
  assert.deepEqual(await controlRequest(path, "calls", { fn: "square" }), {
    calls: [{ id: "fc-1", function: "square", startedAt: 1, durationMs: 2, outcome: "success" }],
  });
  assert.deepEqual(seen, [{ fn: "square" }]);
});

test("a user error thrown by a handler arrives as a UserError with its code, message, hint and frames", async (t) => {
  const frames = [{ file: "/srv/app.ts", line: 17, column: 25 }];
  const path = await serving(t, {
    run: async () => {
      throw new UserError("E_INVALID_INPUT", 'app "walk" has no function "nope"', "its functions: square", frames);
    },
  });
  const error = await controlRequest(path, "run", { fn: "nope", args: "" }).then(
    () => assert.fail("the request should have failed"),
    (e) => e,
  );
  assert.ok(error instanceof UserError, String(error));
  assert.equal(error.code, "E_INVALID_INPUT");
  assert.equal(error.message, 'app "walk" has no function "nope"');
  assert.equal(error.hint, "its functions: square");
  assert.deepEqual(error.frames, frames);
});

test("any other error arrives with its name and message, not as a user error", async (t) => {
  const path = await serving(t, {
    status: async () => {
      throw new TypeError("status is broken");
    },
  });
  const error = await controlRequest(path, "status", {}).then(
    () => assert.fail("the request should have failed"),
    (e) => e,
  );
  assert.ok(!(error instanceof UserError));
  assert.equal(error.name, "TypeError");
  assert.equal(error.message, "status is broken");
});

test("an op the app does not answer (an own property only) is a user error saying the versions differ", async (t) => {
  const path = await serving(t, { ping: async () => ({ pid: 1 }) });
  for (const op of ["rollover", "toString", "__proto__"]) {
    const error = await controlRequest(path, op, {}).then(
      () => assert.fail(`"${op}" should have failed`),
      (e) => e,
    );
    assert.ok(error instanceof UserError, `${op}: ${error}`);
    assert.equal(error.code, "E_INVALID_INPUT");
    assert.equal(error.message, `unknown operation "${op}"`);
    assert.match(error.hint, /different nodal versions; redeploy the app/);
  }
  // The server still answers the ops it has.
  assert.deepEqual(await controlRequest(path, "ping", {}), { pid: 1 });
});

test("the socket is owner-only", async (t) => {
  const path = await serving(t, { ping: async () => ({ pid: 1 }) });
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test("nothing listening, or no answer in time, is E_APP_UNREACHABLE naming the op", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nodal-control-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gone = await controlRequest(join(dir, "gone.sock"), "status", {}).then(
    () => assert.fail("nothing listens there"),
    (e) => e,
  );
  assert.ok(gone instanceof UserError);
  assert.equal(gone.code, "E_APP_UNREACHABLE");
  assert.equal(gone.message, 'the app did not answer "status": it is not running');
  assert.equal(gone.cause.code, "ENOENT");

  const path = await serving(t, { ping: () => new Promise(() => {}) });
  const silent = await controlRequest(path, "ping", {}, 100).then(
    () => assert.fail("the handler never answers"),
    (e) => e,
  );
  assert.equal(silent.code, "E_APP_UNREACHABLE");
  assert.equal(silent.message, 'the app did not answer "ping": no answer within 100 ms');
});
