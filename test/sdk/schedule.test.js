import assert from "node:assert/strict";
import { test } from "node:test";
import { Cron, Period, Retries } from "../../dist/sdk/index.js";

test("Cron: 5 and 6 fields, UTC by default, a time zone read across DST changes", () => {
  assert.equal(new Cron("0 * * * *").next(new Date("2026-03-01T10:20:00Z")).toISOString(), "2026-03-01T11:00:00.000Z");
  assert.equal(new Cron("*/10 * * * * *").next(new Date("2026-03-01T10:20:03Z")).toISOString(), "2026-03-01T10:20:10.000Z");
  // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer (DST began 2026-03-29).
  const paris = new Cron("0 9 * * *", { timezone: "Europe/Paris" });
  assert.equal(paris.next(new Date("2026-03-28T12:00:00Z")).toISOString(), "2026-03-29T07:00:00.000Z");
  assert.equal(paris.next(new Date("2026-03-27T12:00:00Z")).toISOString(), "2026-03-28T08:00:00.000Z");
  // 02:30 does not exist in New York on 2026-03-08: the run is not skipped into the next day twice.
  const ny = new Cron("30 2 * * *", { timezone: "America/New_York" });
  const next = ny.next(new Date("2026-03-07T12:00:00Z"));
  assert.ok(next.getTime() > Date.parse("2026-03-07T12:00:00Z") && next.getTime() < Date.parse("2026-03-09T12:00:00Z"), next.toISOString());
});

test("invalid schedules carry a problem instead of throwing, so the loader can name the function", () => {
  assert.match(new Cron("61 * * * *").problem, /invalid cron expression "61 \* \* \* \*"/);
  assert.match(new Cron("* * *").problem, /expected 5 fields .* got 3/);
  assert.match(new Cron("0 * * * *", { timezone: "Mars/Olympus" }).problem, /invalid cron expression/);
  assert.equal(new Cron("0 * * * *").problem, undefined);
  assert.match(new Period({}).problem, /invalid Period/);
  assert.match(new Period({ seconds: -1 }).problem, /invalid Period/);
  assert.equal(new Period({ minutes: 1, seconds: 30 }).seconds, 90);
});

test("Retries are validated where they are constructed", () => {
  assert.match(new Retries({ maxRetries: 11 }).problem, /from 0 to 10/);
  assert.match(new Retries({ maxRetries: 1, maxDelay: 0 }).problem, /maxDelay must be from 1 to 60/);
});
