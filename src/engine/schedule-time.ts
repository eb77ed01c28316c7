import { Cron } from "../sdk/schedule.js";
import type { ScheduleSpec } from "../loader/manifest.js";

/** When a schedule runs next after `from`: a Cron from the wall clock, a Period one period later. */
export function nextRun(schedule: ScheduleSpec, from = new Date()): Date {
  if (schedule.kind === "cron") return new Cron(schedule.expression, { timezone: schedule.timezone }).next(from);
  return new Date(from.getTime() + schedule.seconds * 1000);
}
