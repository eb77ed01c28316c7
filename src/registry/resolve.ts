import { UserError } from "../errors.js";
import { byCreatedAt, listApps, liveState, type AppRecord, type AppState } from "./apps.js";

/**
 * The instance a NAME (or app id) means: a running one first (deployed before ephemeral), else
 * the newest, whether it stopped or crashed: an old crashed `serve` session never shadows a
 * newer stopped deploy. Stopped apps resolve too, for logs and history.
 */
export function resolveApp(nameOrId: string): AppRecord & { live: AppState } {
  const all = listApps().map((r) => ({ ...r, live: liveState(r) }));
  const matching = all.filter((r) => r.name === nameOrId || r.id === nameOrId);
  if (matching.length === 0) {
    const names = [...new Set(all.map((r) => r.name))];
    throw new UserError(
      "E_NOT_FOUND",
      `no app named "${nameOrId}"`,
      names.length ? `known apps: ${names.join(", ")} (see \`nodal app list\`)` : "deploy one with `nodal deploy app.ts`",
    );
  }
  const rank = (r: { live: AppState }) => ({ deployed: 0, ephemeral: 1, crashed: 2, stopped: 2 })[r.live];
  return matching.sort((a, b) => rank(a) - rank(b) || byCreatedAt(b, a))[0]!;
}
