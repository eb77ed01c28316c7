import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["app", "list"],
  description: "list apps: deployed, ephemeral (served), stopped and crashed",
  options: (cmd) => cmd.option("--json", "machine-readable output"),
  async run(_args, opts) {
    const { listApps, liveState } = await import("../../registry/apps.js");
    const { table } = await import("../../ui/output.js");
    const apps = listApps().map((r) => ({ ...r, state: liveState(r) }));
    if (opts.json) {
      const out = apps.map((a) => ({
        id: a.id,
        name: a.name,
        state: a.state,
        version: a.version,
        createdAt: a.createdAt,
        stoppedAt: a.stoppedAt,
        urls: a.urls,
        functions: a.functions,
        pid: a.state === "deployed" || a.state === "ephemeral" ? a.pid : null,
      }));
      stdout.write(JSON.stringify(out, null, 2) + "\n");
      return;
    }
    if (apps.length === 0) {
      stdout.write("No apps yet. Start one with `nodal serve app.ts` or `nodal deploy app.ts`.\n");
      return;
    }
    // ISO-8601 as stored, as `app show` and the JSON print them.
    const when = (iso: string | null) => iso ?? "-";
    const rows = apps.map((a) => [
      a.id,
      a.name,
      a.state,
      `v${a.version}`,
      Object.values(a.urls).join(" ") || `${a.functions.length} function${a.functions.length === 1 ? "" : "s"}`,
      when(a.createdAt),
      when(a.stoppedAt),
    ]);
    stdout.write(table(["App ID", "Name", "State", "Version", "URLs / functions", "Created", "Stopped"], rows) + "\n");
  },
});
