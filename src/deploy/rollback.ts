import { join } from "node:path";
import { UserError } from "../errors.js";
import { withNameLock } from "../registry/lock.js";
import { listVersions, saveVersion, versionDir } from "../registry/versions.js";
import { liveDeployment, printResult, startFresh, swapInto } from "./deploy.js";

/** `nodal app rollback NAME [vN]`: the snapshot of vN deployed again, as a new version. */
export async function rollback(name: string, wanted: string | undefined, opts: { host: string; json: boolean }): Promise<number> {
  const started = performance.now();
  const result = await withNameLock(name, async () => {
    const versions = listVersions(name);
    if (versions.length === 0) throw new UserError("E_NOT_FOUND", `no deployed app named "${name}"`, "`nodal app list` shows the apps");
    const live = liveDeployment(name);
    let target;
    if (wanted !== undefined) {
      const n = Number(wanted.replace(/^v/, ""));
      target = versions.find((v) => v.n === n);
      if (!target) throw new UserError("E_NOT_FOUND", `"${name}" has no version ${wanted}`, `its versions: ${versions.map((v) => `v${v.n}`).join(", ")}`);
    } else {
      const current = live?.version ?? versions[0]!.n;
      target = versions.find((v) => v.n < current);
      if (!target) throw new UserError("E_NOT_FOUND", `"${name}" has no version before v${current} to roll back to`);
    }
    const from = target;
    const makeVersion = () =>
      saveVersion(
        name,
        { file: join(versionDir(name, from.n), "app.mjs"), hash: from.hash, externals: from.externals, inputs: from.inputs },
        { file: from.file, display: from.display, ...(from.selector ? { selector: from.selector } : {}), ...(from.named ? { named: true } : {}), rollbackOf: from.n },
      );
    return live ? swapInto(live, undefined, makeVersion) : startFresh(name, opts.host, makeVersion);
  });
  printResult(result, opts.json, started);
  return 0;
}
