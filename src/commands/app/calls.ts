import { defineCommand } from "../define.js";

export default defineCommand({
  path: ["app", "calls"],
  args: "<name>",
  description: "list a running app's recent function calls: id, function, start, duration, outcome, error",
  options: (cmd) => cmd.option("--function <name>", "only this function's calls").option("--json", "machine-readable output"),
  async run([name], opts) {
    const { appCalls } = await import("../../ops/calls.js");
    await appCalls(name!, { json: Boolean(opts.json), ...(opts.function !== undefined ? { fn: opts.function as string } : {}) });
  },
});
