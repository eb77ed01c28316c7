import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["app", "history"],
  args: "<name>",
  description: "list an app's deployed versions, newest first",
  options: (cmd) => cmd.option("--json", "machine-readable output"),
  async run([name], opts) {
    const { UserError } = await import("../../errors.js");
    const { listVersions } = await import("../../registry/versions.js");
    const { listApps, liveState } = await import("../../registry/apps.js");
    const { table } = await import("../../ui/output.js");
    const versions = listVersions(name!);
    if (versions.length === 0) {
      throw new UserError("E_NOT_FOUND", `no deployed app named "${name}"`, "`nodal app list` shows the apps; `nodal deploy FILE` creates versions");
    }
    const live = listApps().find((r) => r.name === name && r.state === "deployed" && liveState(r) === "deployed");
    if (opts.json) {
      const out = versions.map((v) => ({ version: v.n, createdAt: v.createdAt, file: v.file, hash: v.hash, live: v.n === live?.version, tag: v.tag ?? null, ...(v.rollbackOf ? { rollbackOf: v.rollbackOf } : {}) }));
      stdout.write(JSON.stringify(out, null, 2) + "\n");
      return;
    }
    const rows = versions.map((v) => [
      `v${v.n}`,
      v.createdAt.replace("T", " ").slice(0, 19),
      v.file,
      v.tag ?? "",
      v.n === live?.version ? "live" : "",
      v.rollbackOf ? `rollback of v${v.rollbackOf}` : "",
    ]);
    stdout.write(table(["Version", "Deployed", "Source", "Tag", "State", "Note"], rows) + "\n");
  },
});
