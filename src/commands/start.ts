import { defineCommand } from "./define.js";
import { parseInput, parsePort } from "./parse.js";

export default defineCommand({
  path: ["start"],
  args: "<file>",
  description: "run an app's engine in the foreground, as a container does: no registry, no watcher, NDJSON logs, health probes",
  options: (cmd) =>
    cmd
      .option("--only <functions>", "serve only these web functions (comma-separated)")
      .option("--host <host>", "address to bind", "127.0.0.1")
      .option("--port <port>", "port of the first web function served (exactly; others take the next free ones)", parsePort)
      .option("--health-port <port>", "port of /livez and /readyz", parsePort, 8081)
      .option("--call <function>", "run this function once (with its retries and timeout), print its result, exit")
      .option("--input <json>", "with --call: the function's argument, as JSON")
      .option("--check", "load the app as a pod would, check the functions named, and exit (an image's build step)")
      .option("--cluster <url>", "calls between pods through Redis at this redis://HOST:PORT URL (default: $NODAL_CLUSTER)"),
  async run([file], opts, _cmd, { preforked }) {
    const { parseTarget } = await import("../loader/target.js");
    const { start } = await import("../start/start.js");
    const only = typeof opts.only === "string" ? opts.only.split(",").map((s: string) => s.trim()).filter(Boolean) : undefined;
    const cluster: string | undefined = opts.cluster ?? (process.env.NODAL_CLUSTER || undefined);
    return start(parseTarget(file!), {
      host: opts.host,
      healthPort: opts.healthPort,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(only ? { only } : {}),
      ...(opts.call !== undefined ? { call: opts.call } : {}),
      input: opts.input !== undefined ? parseInput(opts.input) : undefined,
      hasInput: opts.input !== undefined,
      ...(cluster ? { cluster } : {}),
      ...(opts.check ? { check: true } : {}),
      ...(preforked ? { preforked } : {}),
    });
  },
});
