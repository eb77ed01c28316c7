import { defineCommand } from "../define.js";
import { parseInput } from "../parse.js";

export default defineCommand({
  path: ["app", "run"],
  args: "<name::function>",
  description: "run a function of a running app in its own workers and print its result (a scheduled one runs as a tick)",
  options: (cmd) => cmd.option("--input <json>", "the function's argument, as JSON"),
  async run([ref], opts, cmd) {
    const at = ref!.lastIndexOf("::");
    if (at <= 0 || at + 2 >= ref!.length) cmd.error(`error: expected NAME::FUNCTION, got "${ref}" (e.g. \`nodal app run my-app::square --input 3\`)`);
    const input = opts.input !== undefined ? { value: parseInput(opts.input) } : undefined;
    const { appRun } = await import("../../ops/app-run.js");
    return appRun(ref!.slice(0, at), ref!.slice(at + 2), input);
  },
});
