import { UserError } from "../errors.js";
import { defineCommand } from "./define.js";

export default defineCommand({
  path: ["run"],
  args: "<file> [args...]",
  description: "run one function (FILE::function) and print its result, or the app's local entrypoint with ARGS",
  options: (cmd) => cmd.option("--input <json>", "the function's argument, as JSON"),
  async run([file, ...argv], opts) {
    let input: unknown;
    if (opts.input !== undefined) {
      try {
        input = JSON.parse(opts.input);
      } catch (error) {
        throw new UserError("E_INVALID_INPUT", `--input is not valid JSON: ${(error as Error).message}`, `quote it for the shell, e.g. --input '{"name":"Ada"}'`);
      }
    }
    const { parseTarget } = await import("../loader/target.js");
    const { runOnce } = await import("../engine/run-once.js");
    return runOnce(parseTarget(file!), { input, hasInput: opts.input !== undefined, argv });
  },
});
