import { defineCommand } from "../define.js";

export default defineCommand({
  path: ["app", "show"],
  args: "<name>",
  description: "show an app: functions, URLs, schedules, volumes, secrets (names only), pids, version",
  options: (cmd) => cmd.option("--json", "machine-readable output"),
  async run([name], opts) {
    const { showApp } = await import("../../deploy/show.js");
    await showApp(name!, Boolean(opts.json));
  },
});
