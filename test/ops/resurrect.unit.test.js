import assert from "node:assert/strict";
import { test } from "node:test";
import { boundHost, desiredStates } from "../../dist/modules/ops/resurrect.js";

const rec = (id, name, state, createdAt, urls = {}) => ({ id, name, state, version: 1, file: "/a.ts", createdAt, stoppedAt: null, pid: null, pidStart: null, urls, functions: [] });

test("the desired state of a name is its newest record that is not a serve session, in name order", () => {
  const records = [
    rec("ap-1", "web", "stopped", "2026-01-01T00:00:00Z"),
    rec("ap-2", "web", "deployed", "2026-01-02T00:00:00Z"),
    rec("ap-3", "web", "ephemeral", "2026-01-03T00:00:00Z"),
    rec("ap-4", "api", "deployed", "2026-01-01T00:00:00Z"),
    rec("ap-5", "api", "stopped", "2026-01-02T00:00:00Z"),
    rec("ap-6", "dev", "ephemeral", "2026-01-02T00:00:00Z"),
  ];
  assert.deepEqual(desiredStates(records).map((r) => [r.name, r.id, r.state]), [
    ["api", "ap-5", "stopped"],
    ["web", "ap-2", "deployed"],
  ]);
});

test("an app binds again the address its URLs were on", () => {
  assert.equal(boundHost(rec("a", "a", "deployed", "", { api: "http://0.0.0.0:8000" })), "0.0.0.0");
  assert.equal(boundHost(rec("a", "a", "deployed", "", { api: "http://[::1]:8000" })), "::1");
  assert.equal(boundHost(rec("a", "a", "deployed", "", {})), "127.0.0.1");
});
