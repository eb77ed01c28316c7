import { UserError } from "../errors.js";
import { listApps, liveState, type AppRecord } from "../registry/apps.js";
import { withNameLock } from "../registry/lock.js";
import { repairRecords } from "../registry/live.js";
import { readVersion } from "../registry/versions.js";
import { liveDeployment, startFresh } from "../deploy/deploy.js";
import { style } from "../ui/output.js";
import { stdout } from "../ui/stdio.js";

/**
 * Per app name (in name order), the record that says what the user wants: the newest that is not a `serve`
 * session. `deployed` means it should run (even if its process is gone: a reboot, a crash);
 * `stopped` means it was stopped on purpose.
 */
export function desiredStates(records: AppRecord[]): AppRecord[] {
  const newest = new Map<string, AppRecord>();
  for (const r of records) if (r.state !== "ephemeral") newest.set(r.name, r); // oldest first: the last wins
  // By name: a restart writes a new createdAt, and the order should not change with it.
  return [...newest.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The address the app's ports were bound to, read back from its URLs (default 127.0.0.1). */
export function boundHost(record: AppRecord): string {
  const url = Object.values(record.urls)[0];
  if (!url) return "127.0.0.1";
  return new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
}

/**
 * `nodal resurrect`: every app whose desired state is deployed and whose supervisor is gone
 * starts again from its current version (the one its record names), on its ports when they
 * are free; apps stopped on purpose stay stopped. One line per app; exit 1 if any failed.
 */
export async function resurrect(): Promise<number> {
  await repairRecords(); // a running app with a damaged record must not be started twice
  const apps = desiredStates(listApps());
  if (apps.length === 0) {
    stdout.write("No deployed apps to bring back.\n");
    return 0;
  }
  let failed = 0;
  // One at a time: each takes its old ports back before the next looks for free ones.
  for (const app of apps) {
    if (app.state === "stopped") {
      stdout.write(`- ${app.name} stays stopped (stopped on purpose at ${app.stoppedAt ?? "?"})\n`);
      continue;
    }
    if (liveState(app) === "deployed") {
      stdout.write(`- ${app.name} v${app.version} is running already (${app.id})\n`);
      continue;
    }
    try {
      const result = await withNameLock(app.name, async () => {
        const live = liveDeployment(app.name);
        if (live) return { ...live, already: true };
        const version = readVersion(app.name, app.version);
        if (!version) {
          throw new UserError("E_NOT_FOUND", `its version v${app.version} is missing`, `see \`nodal app history ${app.name}\``);
        }
        const res = await startFresh(app.name, boundHost(app), () => version, undefined, true);
        return { ...res, already: false };
      });
      const urls = Object.values(result.urls).join(" ");
      if (result.already) stdout.write(`- ${app.name} v${result.version} is running already (${result.id})\n`);
      else stdout.write(`${style("green", "✓")} ${app.name} v${result.version} started again (${result.id})${urls ? `: ${urls}` : ""}\n`);
    } catch (error) {
      failed++;
      const e = error as Error;
      stdout.write(`${style("red", "✗")} ${app.name} v${app.version} did not start: ${e.message}${error instanceof UserError && error.hint ? ` (${error.hint})` : ""}\n`);
    }
  }
  if (failed > 0) {
    throw new UserError("E_WORKER_FAILED", `${failed} of ${apps.length} app${apps.length === 1 ? "" : "s"} did not start`, "see the lines above and `nodal app logs NAME`");
  }
  return 0;
}
