import { Cron } from "../sdk/schedule.js";
import type { AppManifest, ScheduleSpec } from "../loader/manifest.js";
import { style } from "../ui/output.js";

/** When a schedule runs next: a Cron from the wall clock, a Period one period after now (deploy restarts it). */
export function nextRun(schedule: ScheduleSpec, from = new Date()): Date {
  if (schedule.kind === "cron") return new Cron(schedule.expression, { timezone: schedule.timezone }).next(from);
  return new Date(from.getTime() + schedule.seconds * 1000);
}

export function describeSchedule(s: ScheduleSpec): string {
  return s.kind === "cron" ? `cron "${s.expression}"${s.timezone !== "UTC" ? ` ${s.timezone}` : ""}` : `every ${s.seconds}s`;
}

/** Modal's deploy tree: one row per function, web functions with their URL, schedules with their next run. */
export function deployTree(manifest: AppManifest, urls: Record<string, string>): string {
  const rows = manifest.functions.map((f) => {
    if (urls[f.name]) return `Created web function ${f.name} => ${style("cyan", urls[f.name]!)}`;
    if (f.schedule) return `Created function ${f.name} (${describeSchedule(f.schedule)}, next run ${nextRun(f.schedule).toISOString()})`;
    return `Created function ${f.name}.`;
  });
  const lines = [`${style("green", "✓")} Created objects.`];
  rows.forEach((r, i) => lines.push(`${i === rows.length - 1 ? "└──" : "├──"} 🔨 ${r}`));
  return lines.join("\n");
}
