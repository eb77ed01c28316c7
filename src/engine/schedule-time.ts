import { Cron } from "../sdk/schedule.js";
import type { ScheduleSpec } from "../loader/manifest.js";

/** When a schedule runs next after `from`: a Cron from the wall clock, a Period one period later. */
export function nextRun(schedule: ScheduleSpec, from = new Date()): Date {
  if (schedule.kind === "cron") return new Cron(schedule.expression, { timezone: schedule.timezone }).next(from);
  return new Date(from.getTime() + schedule.seconds * 1000);
}

/** A schedule as a short phrase: `cron "0 * * * *"`, `every 300s`. */
export function describeSchedule(s: ScheduleSpec): string {
  return s.kind === "cron" ? `cron "${s.expression}"${s.timezone !== "UTC" ? ` ${s.timezone}` : ""}` : `every ${s.seconds}s`;
}
