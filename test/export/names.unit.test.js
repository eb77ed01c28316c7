// nodal names as Kubernetes names, and schedules as CronJob crons.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DnsNames, dnsName } from "../../dist/modules/export/names.js";
import { cronForPeriod, cronJobSchedule, nearestCron } from "../../dist/modules/export/schedules.js";

test("dnsName lowercases, maps _ and . to -, trims, cuts to the limit and puts a letter first", () => {
  assert.equal(dnsName("My_App.v2"), "my-app-v2");
  assert.equal(dnsName("__edge--"), "edge");
  assert.equal(dnsName("9lives"), "nodal-9lives");
  assert.equal(dnsName("a".repeat(64)), "a".repeat(63));
  assert.equal(dnsName(`${"a".repeat(51)}-b`, 52), "a".repeat(51), "no trailing - after the cut");
  assert.equal(dnsName("..._"), "");
});

test("DnsNames: one DNS name per nodal name; two nodal names on one DNS name is an error naming both", () => {
  const names = new DnsNames("secret");
  assert.equal(names.of("db_creds"), "db-creds");
  assert.equal(names.of("db_creds"), "db-creds", "asking again is no collision");
  assert.throws(() => names.of("DB.creds"), (e) => e.code === "E_INVALID_NAME" && /secrets "db_creds" and "DB.creds" both map to the Kubernetes name "db-creds"/.test(e.message));
  assert.throws(() => new DnsNames("volume").of("._."), (e) => e.code === "E_INVALID_NAME" && /volume "._."/.test(e.message));
});

test("a Period maps to a cron only when it divides an hour or a day evenly", () => {
  assert.equal(cronForPeriod(60), "* * * * *");
  assert.equal(cronForPeriod(15 * 60), "*/15 * * * *");
  assert.equal(cronForPeriod(3600), "0 * * * *");
  assert.equal(cronForPeriod(6 * 3600), "0 */6 * * *");
  assert.equal(cronForPeriod(86400), "0 0 * * *");
  for (const s of [90, 7 * 60, 45 * 60, 5 * 3600, 2 * 86400]) assert.equal(cronForPeriod(s), undefined, `${s} s`);
  assert.deepEqual(nearestCron(7 * 60), { seconds: 360, cron: "*/6 * * * *" });
  assert.deepEqual(nearestCron(90), { seconds: 60, cron: "* * * * *" }, "a tie goes to the shorter period");
  assert.deepEqual(nearestCron(5 * 3600), { seconds: 4 * 3600, cron: "0 */4 * * *" });
  assert.deepEqual(nearestCron(3 * 86400), { seconds: 86400, cron: "0 0 * * *" });
});

test("cronJobSchedule: crons keep their time zone; a 6-field cron and an inexact Period are errors naming the function", () => {
  assert.deepEqual(cronJobSchedule({ name: "f" }, { kind: "cron", expression: "30  2 * * *", timezone: "Europe/Paris" }), { schedule: "30 2 * * *", timeZone: "Europe/Paris" });
  assert.deepEqual(cronJobSchedule({ name: "f" }, { kind: "period", seconds: 1200 }), { schedule: "*/20 * * * *", timeZone: "UTC" });
  assert.throws(
    () => cronJobSchedule({ name: "tick" }, { kind: "cron", expression: "*/10 * * * * *", timezone: "UTC" }),
    (e) => e.code === "E_INVALID_INPUT" && /function "tick".*seconds field/.test(e.message) && /new Cron\("\* \* \* \* \*"\)/.test(e.hint),
  );
  assert.throws(
    () => cronJobSchedule({ name: "poll" }, { kind: "period", seconds: 420 }),
    (e) => e.code === "E_INVALID_INPUT" && /function "poll": a Period of 7 min has no exact cron/.test(e.message) && /every 6 min: schedule: new Cron\("\*\/6 \* \* \* \*"\)/.test(e.hint),
  );
});
