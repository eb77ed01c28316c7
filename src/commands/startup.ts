import { defineCommand } from "./define.js";

export default defineCommand({
  path: ["startup"],
  description: "install a systemd user unit that brings deployed apps back after a reboot (--print: only show it)",
  options: (cmd) => cmd.option("--print", "show the unit and the commands; install nothing"),
  async run(_args, opts) {
    const { startup } = await import("../ops/startup.js");
    return startup({ print: Boolean(opts.print) });
  },
});
