import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { UserError } from "../errors.js";
import { NODAL_ROOT } from "../paths.js";
import { defineCommand } from "./define.js";
import { stdout } from "../ui/stdio.js";

/** A starter app in `templates/NAME/`, and the shell lines that get it running. */
interface Template {
  summary: string;
  /** The commands to run next, given the app file's path as the user would type it. */
  next: (app: string) => string[];
}

/** The templates, in help order; the first is the default. Each is a folder of `templates/`. */
export const TEMPLATES: Record<string, Template> = {
  "rest-api": {
    summary: "CRUD API on a volume: zod validation, API keys, rate limit",
    next: (app) => [
      "export API_KEY=$(openssl rand -hex 24)",
      "nodal secret create rest-api-keys API_KEYS=$API_KEY",
      `nodal serve ${app}`,
    ],
  },
  "scheduled-tasks": {
    summary: "cron poller that processes queued jobs exactly once, with an API to enqueue",
    next: (app) => [`nodal serve ${app}`],
  },
  "multi-tenant": {
    summary: "notes isolated per tenant, the tenant being the API key",
    next: (app) => [
      "export KEY_A=$(openssl rand -hex 24) KEY_B=$(openssl rand -hex 24)",
      "nodal secret create multi-tenant-keys API_KEYS=$KEY_A,$KEY_B",
      `nodal serve ${app}`,
    ],
  },
  "encrypted-storage": {
    summary: "JSON records encrypted at rest (AES-256-GCM), with key rotation",
    next: (app) => [
      "export API_KEY=$(openssl rand -hex 24) ENCRYPTION_KEY=$(openssl rand -base64 32)   # keep a copy of ENCRYPTION_KEY",
      "nodal secret create encrypted-storage-keys API_KEYS=$API_KEY ENCRYPTION_KEY=$ENCRYPTION_KEY",
      `nodal serve ${app}`,
    ],
  },
  hello: {
    summary: "the smallest app: a web app, an endpoint, a function",
    next: (app) => [`nodal serve ${app}`],
  },
};

const DEFAULT = Object.keys(TEMPLATES)[0]!;
const width = Math.max(...Object.keys(TEMPLATES).map((n) => n.length));
const listing = Object.entries(TEMPLATES)
  .map(([name, t]) => `  ${name.padEnd(width)}  ${t.summary}`)
  .join("\n");

export default defineCommand({
  path: ["init"],
  args: "[template] [dir]",
  description: `create an app from a template (default ${DEFAULT}) in DIR (default ./TEMPLATE); never overwrites a file`,
  options: (cmd) => cmd.addHelpText("after", `\nTemplates:\n${listing}\n\nExample:\n  nodal init rest-api my-api`),
  async run([name = DEFAULT, dir]) {
    if (!Object.hasOwn(TEMPLATES, name)) {
      throw new UserError(
        "E_NOT_FOUND",
        `unknown template "${name}"; the templates are: ${Object.keys(TEMPLATES).join(", ")}`,
        `the template comes before the directory, e.g. \`nodal init ${DEFAULT} DIR\`; \`nodal init --help\` describes them`,
      );
    }
    const target = resolve(dir ?? name);
    const files = scaffold(name, target);
    const lines = [
      `✓ Created ${shown(target)} from template "${name}":`,
      ...files.map((f) => `  ${shown(f)}`),
      "",
      "Next:",
      ...TEMPLATES[name]!.next(shown(join(target, "app.ts"))).map((l) => `  ${l}`),
    ];
    if (files.some((f) => f.endsWith("README.md"))) lines.push("", `${shown(join(target, "README.md"))} shows how to call it.`);
    stdout.write(lines.join("\n") + "\n");
  },
});

/** A path as the user would type it: relative to the current directory when inside it, quoted for a POSIX shell when needed. */
function shown(p: string): string {
  const rel = relative(process.cwd(), p);
  const path = rel === "" || rel.startsWith("..") || isAbsolute(rel) ? p : rel;
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * Copies `templates/NAME/**` (but node_modules) into `target`, plus a tsconfig.json unless the
 * template has one, and returns the files written. Every destination is checked before the
 * first write, so a refusal leaves the disk as it was.
 */
function scaffold(name: string, target: string): string[] {
  const source = join(NODAL_ROOT, "templates", name);
  const plan = new Map<string, string | (() => string)>(); // destination → source file, or content
  for (const file of walk(source)) plan.set(join(target, relative(source, file)), file);
  const tsconfig = join(target, "tsconfig.json");
  if (!plan.has(tsconfig)) plan.set(tsconfig, tsconfigFor);

  if (existsSync(target) && !statSync(target).isDirectory()) {
    throw new UserError("E_ALREADY_EXISTS", `${shown(target)} exists and is not a directory`, `pick another directory: \`nodal init ${name} DIR\``);
  }
  const taken = [...plan.keys()].filter(exists);
  if (taken.length > 0) {
    throw new UserError(
      "E_ALREADY_EXISTS",
      `not overwriting ${taken.map(shown).join(", ")}; nothing was written`,
      `pick another directory: \`nodal init ${name} DIR\`, or move the file${taken.length > 1 ? "s" : ""} away`,
    );
  }
  for (const [dest, from] of plan) {
    try {
      mkdirSync(dirname(dest), { recursive: true });
      // Exclusive creation: a file that appeared since the check is still not overwritten.
      if (typeof from === "string") copyFileSync(from, dest, constants.COPYFILE_EXCL);
      else writeFileSync(dest, from(), { flag: "wx" });
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code === "EEXIST") throw new UserError("E_ALREADY_EXISTS", `not overwriting ${shown(dest)}, created while init ran`);
      if (!code) throw error;
      throw new UserError("E_INVALID_INPUT", `cannot create ${shown(dest)}: ${message}`, `pick another directory: \`nodal init ${name} DIR\``);
    }
  }
  return [...plan.keys()];
}

/** Files under `dir`, depth first, sorted, without node_modules. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.name === "node_modules" ? [] : e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Whether anything (a dangling symlink included) is at `p`. */
function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * A tsconfig that type-checks the app without installing anything: "nodal" maps to this nodal's
 * declarations, and other packages resolve from the app's node_modules first, then from nodal's
 * (its @types included), as the loader resolves them at run time. Paths are absolute, so they
 * point at the nodal that ran `init`; run it again elsewhere to re-point.
 */
function tsconfigFor(): string {
  const nodal = (...p: string[]) => join(NODAL_ROOT, ...p);
  const config = {
    compilerOptions: {
      target: "ES2022",
      module: "ES2022",
      moduleResolution: "Bundler", // nodal bundles app files with esbuild
      lib: ["ES2023"],
      types: ["node"],
      typeRoots: ["./node_modules/@types", nodal("node_modules", "@types")],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      forceConsistentCasingInFileNames: true,
      paths: {
        nodal: [nodal("dist", "sdk", "index.d.ts")],
        "*": ["./node_modules/@types/*", "./node_modules/*", nodal("node_modules", "@types", "*"), nodal("node_modules", "*")],
      },
    },
    include: ["**/*.ts"],
    exclude: ["node_modules"],
  };
  return JSON.stringify(config, null, 2) + "\n";
}
