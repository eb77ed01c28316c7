import { defineCommand } from "../define.js";

export default defineCommand({
  path: ["app", "rollback"],
  args: "<name> [version]",
  description: "redeploy an earlier version (default: the one before the live one) as a new version",
  options: (cmd) => cmd.option("--host <host>", "address to bind if the app is not running", "127.0.0.1").option("--json", "machine-readable output"),
  async run([name, version], opts) {
    const { rollback } = await import("../../deploy/rollback.js");
    return rollback(name!, version, { host: opts.host, json: Boolean(opts.json) });
  },
});
