import assert from "node:assert/strict";
import { test } from "node:test";
import { retryDelaySec } from "../../dist/modules/engine/function-pool.js";

test("retry delays follow Modal: min(initialDelay × coefficient^(n-1), maxDelay)", () => {
  const policy = { maxRetries: 4, initialDelaySec: 1, backoffCoefficient: 2, maxDelaySec: 5 };
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelaySec(policy, n)), [1, 2, 4, 5]);
  const fixed = { maxRetries: 3, initialDelaySec: 1, backoffCoefficient: 1, maxDelaySec: 1 };
  assert.deepEqual([1, 2, 3].map((n) => retryDelaySec(fixed, n)), [1, 1, 1]);
});
