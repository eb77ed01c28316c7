import { UserError } from "../../errors.js";
import { defineCommand } from "../define.js";
import { parseCount } from "../parse.js";

export default defineCommand({
  path: ["app", "logs"],
  args: "<name>",
  description: "print an app's last log entries (timestamped, tagged with function and worker); -f follows",
  options: (cmd) =>
    cmd
      .option("-f, --follow", "keep printing new entries until the app stops")
      .option("-n, --tail <n>", "how many of the last entries", parseCount, 100)
      .option("--since <time>", "only entries after: 30m, 2h, 1d or ISO-8601")
      .option("--until <time>", "only entries before: 30m, 2h, 1d or ISO-8601")
      .option("--function <name>", "only this function's entries")
      .option("--search <text>", "only entries whose line contains TEXT")
      .option("--source <stream>", "only stdout, stderr or system entries")
      .option("--json", "one JSON object a line"),
  async run([name], opts) {
    const { resolveApp } = await import("../../registry/resolve.js");
    const { showLogs } = await import("../../logs/show.js");
    const { parseTime } = await import("../../logs/reader.js");
    const time = (flag: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const d = parseTime(v);
      if (!d) throw new UserError("E_INVALID_INPUT", `--${flag} "${v}" is not a time`, "use 30m, 2h, 1d or an ISO-8601 time like 2026-01-31T12:00:00Z");
      return d;
    };
    if (opts.source !== undefined && !["stdout", "stderr", "system"].includes(opts.source)) {
      throw new UserError("E_INVALID_INPUT", `--source must be stdout, stderr or system, got "${opts.source}"`);
    }
    const since = time("since", opts.since);
    const until = time("until", opts.until);
    await showLogs(resolveApp(name!), {
      tail: opts.tail,
      follow: Boolean(opts.follow),
      json: Boolean(opts.json),
      filter: {
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(opts.function ? { function: opts.function } : {}),
        ...(opts.search ? { search: opts.search } : {}),
        ...(opts.source ? { stream: opts.source } : {}),
      },
    });
  },
});
