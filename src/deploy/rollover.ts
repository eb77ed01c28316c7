import { UserError } from "../errors.js";
import { controlRequest, controlSocketPath } from "../engine/control.js";
import { withNameLock } from "../registry/lock.js";
import { resolveApp } from "../registry/resolve.js";
import { style } from "../ui/output.js";
import { progress } from "../ui/progress.js";
import { stdout } from "../ui/stdio.js";

/**
 * `nodal app rollover NAME`: the running instance loads its current version in new workers
 * (secrets and packages read again) and swaps them in as a deploy does, with zero failed
 * requests. Under the name's lock, so it never interleaves with a deploy of the same name.
 */
export async function rollover(name: string, json: boolean): Promise<void> {
  const first = resolveApp(name);
  const running = (live: string) => live === "deployed" || live === "ephemeral";
  if (!running(first.live)) {
    throw new UserError("E_INVALID_STATE", `app "${first.name}" is ${first.live}; only a running app rolls over`, `start it with \`nodal deploy ${first.file}\``);
  }
  const spinner = progress();
  const result = await withNameLock(first.name, async () => {
    const app = resolveApp(name);
    if (!running(app.live)) throw new UserError("E_INVALID_STATE", `app "${app.name}" stopped meanwhile`);
    spinner.step(`Rolling over ${app.name}…`);
    try {
      return { app, ...(await controlRequest(controlSocketPath(app.id), "rollover", {}, 120_000)) };
    } finally {
      spinner.done();
    }
  });
  if (json) {
    stdout.write(JSON.stringify({ name: result.app.name, id: result.app.id, version: result.version, urls: result.urls }, null, 2) + "\n");
    return;
  }
  stdout.write(`${style("green", "✓")} Rolled over ${result.app.name} v${result.version}: new workers, secrets and packages read again.\n`);
}
