/**
 * nodal schedules as CronJob schedules. Kubernetes runs CronJobs on 5-field crons (minute
 * resolution) only, so a `Period` maps exactly only when it divides an hour or a day evenly;
 * anything else is an error suggesting the nearest cron that does.
 */
import { UserError } from "../errors.js";
import type { FunctionSpec, ScheduleSpec } from "../loader/manifest.js";

export interface CronJobSchedule {
  schedule: string;
  timeZone: string;
}

/** Periods, in seconds, that one cron expression runs at exactly, with that expression. */
const EXACT: [seconds: number, cron: string][] = [
  ...[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].map((m): [number, string] => [m * 60, m === 1 ? "* * * * *" : `*/${m} * * * *`]),
  [3600, "0 * * * *"],
  ...[2, 3, 4, 6, 8, 12].map((h): [number, string] => [h * 3600, `0 */${h} * * *`]),
  [86400, "0 0 * * *"],
];

/** The cron a Period equals, if any. */
export function cronForPeriod(seconds: number): string | undefined {
  return EXACT.find(([s]) => s === seconds)?.[1];
}

/** The exact cron whose period is nearest to `seconds` (the shorter one on a tie). */
export function nearestCron(seconds: number): { seconds: number; cron: string } {
  let best = EXACT[0]!;
  for (const e of EXACT) if (Math.abs(e[0] - seconds) < Math.abs(best[0] - seconds)) best = e;
  return { seconds: best[0], cron: best[1] };
}

const describe = (s: number) => (s % 86400 === 0 ? `${s / 86400} day${s === 86400 ? "" : "s"}` : s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`);

/** A function's schedule as a CronJob's `schedule` and `timeZone`; a user error when there is none exact. */
export function cronJobSchedule(fn: Pick<FunctionSpec, "name">, spec: ScheduleSpec): CronJobSchedule {
  if (spec.kind === "cron") {
    if (spec.expression.trim().split(/\s+/).length === 6) {
      throw new UserError(
        "E_INVALID_INPUT",
        `function "${fn.name}": cron "${spec.expression}" has a seconds field; Kubernetes CronJobs run at most once a minute`,
        `use a 5-field cron (minute hour day month weekday), e.g. new Cron("${spec.expression.trim().split(/\s+/).slice(1).join(" ")}")`,
      );
    }
    return { schedule: spec.expression.trim().split(/\s+/).join(" "), timeZone: spec.timezone };
  }
  const exact = cronForPeriod(spec.seconds);
  if (exact) return { schedule: exact, timeZone: "UTC" };
  const near = nearestCron(spec.seconds);
  throw new UserError(
    "E_INVALID_INPUT",
    `function "${fn.name}": a Period of ${describe(spec.seconds)} has no exact cron, and Kubernetes CronJobs run on crons only`,
    `the nearest is every ${describe(near.seconds)}: schedule: new Cron("${near.cron}") (periods that divide an hour or a day evenly map exactly)`,
  );
}
