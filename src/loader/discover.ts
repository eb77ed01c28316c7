import { App, FunctionBase, WebFunction } from "../sdk/app.js";
import { Cron } from "../sdk/schedule.js";
import { Retries } from "../sdk/retries.js";
import type { Secret } from "../sdk/secret.js";
import type { Volume } from "../sdk/volume.js";
import { UserError } from "../errors.js";
import type { AppManifest, FunctionSpec } from "./manifest.js";

/** The app a module declares, and the function a `::name` selector picked, if any. */
export interface Discovered {
  app: App;
  target?: FunctionBase;
}

/**
 * Finds the App among a module's exports: `selector` names an App export or a function
 * export; without one the module must export exactly one App.
 */
export function findApp(mod: Record<string, unknown>, file: string, selector?: string): Discovered {
  const apps = Object.entries(mod).filter(([, v]) => v instanceof App) as [string, App][];
  if (selector) {
    const picked = mod[selector];
    if (picked instanceof App) return { app: picked };
    if (picked instanceof FunctionBase) return { app: picked.app, target: picked };
    const names = Object.entries(mod)
      .filter(([, v]) => v instanceof App || v instanceof FunctionBase)
      .map(([k]) => k);
    throw new UserError(
      "E_NO_APP",
      `${file} has no exported App or function named "${selector}"`,
      names.length ? `exports found: ${names.join(", ")}` : `export one, e.g. \`export const app = new App("my-app")\``,
    );
  }
  if (apps.length === 1) return { app: apps[0]![1] };
  if (apps.length > 1) {
    const list = apps.map(([k]) => k).join(", ");
    throw new UserError("E_NO_APP", `${file} exports ${apps.length} Apps (${list})`, `pick one with ${file}::${apps[0]![0]}`);
  }
  throw new UserError(
    "E_NO_APP",
    `${file} exports no App`,
    `declare and export one: \`export const app = new App("my-app")\``,
  );
}

/** Names the app's functions from their exports, validates every option, resolves secrets. */
export function describeApp(mod: Record<string, unknown>, found: Discovered): AppManifest {
  const { app } = found;
  for (const [key, value] of Object.entries(mod)) {
    if (value instanceof FunctionBase && value.app === app) value.assignName(key);
  }
  const problems: string[] = [];
  const seen = new Map<string, FunctionBase>();
  for (const fn of app.functions) {
    if (!fn.hasName) {
      problems.push(`a function declared at ${fn.location ?? "(unknown line)"} has no name: export it, or pass { name: "…" }`);
      continue;
    }
    const kind = fn instanceof WebFunction ? (fn.style === "endpoint" ? "endpoint" : "web") : "function";
    problems.push(...fn.problems(kind));
    if (seen.has(fn.name)) problems.push(`two functions are named "${fn.name}" (${seen.get(fn.name)!.location} and ${fn.location})`);
    seen.set(fn.name, fn);
  }
  if (problems.length > 0) {
    throw new UserError("E_LOAD_FAILED", problems.join("\n"), "fix the options above; the allowed ranges are in each message");
  }
  const functions = app.functions.map((fn) => specOf(app, fn));
  return {
    appName: app.name,
    functions,
    hasLocalEntrypoint: app.localEntrypointHandler !== undefined,
    ...(found.target ? { target: found.target.name } : {}),
  };
}

function specOf(app: App, fn: FunctionBase): FunctionSpec {
  const o = fn.options as {
    timeout?: number;
    retries?: number | Retries;
    concurrency?: number;
    minContainers?: number;
    maxContainers?: number;
    scaledownWindow?: number;
    bufferContainers?: number;
    memory?: number;
    volumes?: Record<string, Volume>;
    secrets?: Secret[];
    env?: Record<string, string>;
    schedule?: unknown;
    port?: number;
  };
  const retries = o.retries instanceof Retries ? o.retries : Retries.fromCount(o.retries ?? 0);
  const env: Record<string, string> = { ...app.params.env };
  const secretValues: string[] = [];
  for (const secret of o.secrets ?? []) {
    let values: Record<string, string>;
    try {
      values = secret.resolveValues();
    } catch (error) {
      throw new UserError("E_LOAD_FAILED", `function "${fn.name}": ${(error as Error).message}`);
    }
    Object.assign(env, values); // later secrets win on a clash, as in Modal
    secretValues.push(...Object.values(values).filter((v) => v.length >= 4));
  }
  Object.assign(env, o.env);
  const schedule = o.schedule
    ? o.schedule instanceof Cron
      ? { kind: "cron" as const, expression: o.schedule.expression, timezone: o.schedule.timezone }
      : { kind: "period" as const, seconds: (o.schedule as { seconds: number }).seconds }
    : undefined;
  const web = fn instanceof WebFunction ? fn : undefined;
  return {
    name: fn.name,
    kind: fn.kind,
    ...(web ? { style: web.style } : {}),
    ...(web?.style === "endpoint" ? { method: web.method } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(schedule ? { schedule } : {}),
    timeoutSec: o.timeout ?? 300,
    retries: {
      maxRetries: retries.maxRetries,
      backoffCoefficient: retries.backoffCoefficient,
      initialDelaySec: retries.initialDelay,
      maxDelaySec: retries.maxDelay,
    },
    concurrency: o.concurrency ?? 1,
    minContainers: o.minContainers ?? 0,
    maxContainers: o.maxContainers ?? 10,
    scaledownWindowSec: o.scaledownWindow ?? 60,
    bufferContainers: o.bufferContainers ?? 0,
    ...(o.memory !== undefined ? { memoryMiB: o.memory } : {}),
    volumes: Object.fromEntries(Object.entries(o.volumes ?? {}).map(([m, v]) => [m, v.name])),
    secretNames: (o.secrets ?? []).map((s) => s.name ?? "(inline)"),
    env,
    secretValues,
    ...(fn.location ? { location: fn.location } : {}),
  };
}
