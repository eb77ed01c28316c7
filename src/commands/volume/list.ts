import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["volume", "list"],
  description: "list volumes: name, created, files, size",
  options: (cmd) => cmd.option("--json", "machine-readable output"),
  async run(_args, opts) {
    const { existsSync, readFileSync, readdirSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { homeDir } = await import("../../registry/home.js");
    const { isValidName } = await import("../../sdk/names.js");
    const { formatSize, treeStats } = await import("./files.js");
    const { table } = await import("../../ui/output.js");
    const { sweep } = await import("../../registry/sweep.js");
    sweep();
    const root = homeDir("volumes");
    // Only well-named directories with a volume.json: `volume delete` renames a volume to a
    // name outside the naming rule before removing it, so a half-deleted one is never listed.
    const names = readdirSync(root)
      .filter((n) => isValidName(n) && existsSync(join(root, n, "volume.json")))
      .sort();
    const volumes = [];
    for (const name of names) {
      let meta: { createdAt?: string; version?: number } = {};
      try {
        meta = JSON.parse(readFileSync(join(root, name, "volume.json"), "utf8"));
      } catch {} // a broken volume.json must not hide the other volumes
      const { files, size } = await treeStats(join(root, name, "data")).catch(() => ({ files: 0, size: 0 }));
      volumes.push({ name, createdAt: meta.createdAt ?? null, version: meta.version ?? 0, files, size });
    }
    if (opts.json) {
      stdout.write(JSON.stringify(volumes, null, 2) + "\n");
      return;
    }
    if (volumes.length === 0) {
      stdout.write("No volumes yet. Create one with `nodal volume create NAME`.\n");
      return;
    }
    const when = (iso: string | null) => (iso ? iso.replace("T", " ").slice(0, 19) : "-");
    const rows = volumes.map((v) => [v.name, when(v.createdAt), String(v.files), formatSize(v.size)]);
    stdout.write(table(["Name", "Created", "Files", "Size"], rows) + "\n");
  },
});
