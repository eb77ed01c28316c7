import { defineCommand } from "./define.js";
import { parseInput } from "./parse.js";

export default defineCommand({
  path: ["run"],
  args: "<file> [args...]",
  description: "run one function (FILE::function) and print its result, or the app's local entrypoint with ARGS",
  options: (cmd) => cmd.option("--input <json>", "the function's argument, as JSON"),
  async run([file, ...argv], opts) {
    const input = opts.input !== undefined ? parseInput(opts.input) : undefined;
    const { parseTarget } = await import("../loader/target.js");
    const { runOnce } = await import("../engine/run-once.js");
    return runOnce(parseTarget(file!), { input, hasInput: opts.input !== undefined, argv });
  },
});
