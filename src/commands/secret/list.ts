import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

export default defineCommand({
  path: ["secret", "list"],
  description: "list secrets: name, keys, created, updated (never values)",
  options: (cmd) => cmd.option("--json", "machine-readable output"),
  async run(_args, opts) {
    const { listInfos } = await import("../../registry/secrets.js");
    const { table } = await import("../../ui/output.js");
    const secrets = listInfos();
    if (opts.json) {
      stdout.write(JSON.stringify(secrets, null, 2) + "\n");
      return;
    }
    if (secrets.length === 0) {
      stdout.write("No secrets yet. Create one with `nodal secret create NAME KEY=VALUE`.\n");
      return;
    }
    const when = (iso: string | null) => (iso ? iso.replace("T", " ").slice(0, 19) : "-");
    const rows = secrets.map((s) => [s.name, s.keys.join(", ") || "-", when(s.createdAt), when(s.updatedAt)]);
    stdout.write(table(["Name", "Keys", "Created", "Updated"], rows) + "\n");
  },
});
