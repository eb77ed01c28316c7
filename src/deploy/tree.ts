import type { PublicManifest } from "../engine/status.js";
import { describeSchedule, nextRun } from "../engine/schedule-time.js";
import { style } from "../ui/output.js";

/** Modal's deploy tree: one row per function, web functions with their URL, schedules with their next run. */
export function deployTree(manifest: PublicManifest, urls: Record<string, string>): string {
  const rows = manifest.functions.map((f) => {
    if (urls[f.name]) return `Created web function ${f.name} => ${style("cyan", urls[f.name]!)}`;
    if (f.schedule) return `Created function ${f.name} (${describeSchedule(f.schedule)}, next run ${nextRun(f.schedule).toISOString()})`;
    return `Created function ${f.name}.`;
  });
  const lines = [`${style("green", "✓")} Created objects.`];
  rows.forEach((r, i) => lines.push(`${i === rows.length - 1 ? "└──" : "├──"} 🔨 ${r}`));
  return lines.join("\n");
}
