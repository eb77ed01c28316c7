import { Option } from "commander";
import { UserError } from "../../errors.js";
import { defineCommand } from "../define.js";
import { parseCount, parseTimeArg } from "../parse.js";

export default defineCommand({
  path: ["app", "logs"],
  args: "<name>",
  description: "print an app's last log entries (timestamped, tagged with function and worker); -f follows",
  options: (cmd) =>
    cmd
      .option("-f, --follow", "keep printing new entries until the app stops")
      .option("-n, --tail <n>", "how many of the last entries", parseCount, 100)
      .option("--since <time>", "only entries after: 30m, 2h, 1d or ISO-8601", parseTimeArg)
      .option("--until <time>", "only entries before: 30m, 2h, 1d or ISO-8601", parseTimeArg)
      .option("--function <name>", "only this function's entries (nodal: the app's own lifecycle lines)")
      .option("--search <text>", "only entries whose line contains TEXT")
      .addOption(new Option("--source <stream>", "only stdout, stderr or system entries").choices(["stdout", "stderr", "system"]))
      .option("--json", "one JSON object a line"),
  async run([name], opts) {
    const { resolveApp } = await import("../../registry/resolve.js");
    const { showLogs } = await import("../../logs/show.js");
    const app = resolveApp(name!);
    const fn = opts.function as string | undefined;
    // "nodal" tags the app's own lifecycle lines (see LogRecord.function).
    if (fn !== undefined && fn !== "nodal" && !(app.functions ?? []).includes(fn)) {
      const known = app.functions?.length ? `its functions are ${app.functions.join(", ")}` : "it declares no functions";
      throw new UserError("E_NOT_FOUND", `app "${app.name}" has no function "${fn}"`, `${known} (and "nodal" for its lifecycle lines)`);
    }
    await showLogs(app, {
      tail: opts.tail,
      follow: Boolean(opts.follow),
      json: Boolean(opts.json),
      filter: {
        ...(opts.since ? { since: opts.since as Date } : {}),
        ...(opts.until ? { until: opts.until as Date } : {}),
        ...(fn ? { function: fn } : {}),
        ...(opts.search ? { search: opts.search } : {}),
        ...(opts.source ? { stream: opts.source } : {}),
      },
    });
  },
});
