import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BuildContext, Message, PartialMessage, Plugin } from "esbuild";
import { UserError } from "../errors.js";
import { distFile, NODAL_ROOT } from "../paths.js";
import { stderr } from "../ui/stdio.js";

/** The SDK module every bundle's `import … from "nodal"` points at: one instance per worker. */
export const SDK_ENTRY = distFile("sdk", "index.js");
/** One successful build: the bundle on disk and what it was made from. */
export interface BuildOutput {
  /** Absolute path of the written bundle (`NAME-HASH.mjs`). */
  file: string;
  /** Content hash of the bundle: equal hashes mean nothing to reload. */
  hash: string;
  /** Absolute paths of the local source files the bundle includes (what to watch). */
  inputs: string[];
  /** Absolute paths of the packages the bundle imports at run time (what a spare worker preloads). */
  externals: string[];
  /** Milliseconds the build took. */
  ms: number;
  /** With `portable`: the packages the bundle imports, as bare names (`express`, `@scope/pkg`). */
  packages?: string[];
}

/** How a bundle finds its packages. */
export interface BuilderOptions {
  /**
   * Leave bare imports (and `"nodal"`) bare, so the bundle runs wherever a `node_modules` holds
   * them (a container image), instead of pointing them at this machine's absolute paths.
   */
  portable?: boolean;
}

/** An esbuild failure, printed with file:line:col and a code frame. */
export class BuildError extends UserError {
  readonly messages: Message[];
  constructor(text: string, messages: Message[]) {
    super("E_BUILD_FAILED", text);
    this.messages = messages;
  }
}

const BUILTINS = new Set(builtinModules);
const isBare = (p: string) => !p.startsWith(".") && !isAbsolute(p) && !p.startsWith("node:") && !BUILTINS.has(p.split("/")[0]!);

/**
 * Bundles an app file and its local imports with an incremental esbuild context. Packages stay
 * external, pointed at their resolved absolute paths, so a bundle written anywhere (a serve
 * build dir, a deploy snapshot) imports the same packages the app's folder would.
 */
export class Builder {
  readonly entry: string;
  readonly outDir: string;
  #ctx: BuildContext | undefined;
  #portable: boolean;

  constructor(entry: string, outDir: string, opts: BuilderOptions = {}) {
    this.entry = resolve(entry);
    this.outDir = outDir;
    this.#portable = opts.portable === true;
  }

  async build(): Promise<BuildOutput> {
    const started = performance.now();
    const esbuild = await import("esbuild");
    if (!this.#ctx) {
      if (!existsSync(this.entry)) {
        throw new UserError("E_FILE_NOT_FOUND", `app file ${this.entry} does not exist`, "check the path, or create one with `nodal init`");
      }
      this.#ctx = await esbuild.context({
        entryPoints: [this.entry],
        absWorkingDir: dirname(this.entry),
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20",
        sourcemap: "inline",
        sourcesContent: false,
        metafile: true,
        write: false,
        // Source map paths are relative to the output file, and the bundle is copied around
        // (a deploy's snapshot lives under NODAL_HOME): placed beside the entry (write: false
        // writes nothing there) and rooted at the app's folder, stack traces name the user's
        // own files wherever the bundle is.
        outfile: join(dirname(this.entry), "app.mjs"),
        // A portable bundle leaves this machine: its source map names files relative to it.
        ...(this.#portable ? {} : { sourceRoot: `${pathToFileURL(dirname(this.entry)).href}/` }),
        logLevel: "silent",
        // Local CommonJS files bundled into ESM may call require(); give them one. A portable
        // bundle starts with PORTABLE_MARK: `nodal start` imports it as it is, without a build.
        banner: { js: `${this.#portable ? `${PORTABLE_MARK}\n` : ""}import { createRequire as __nodalCreateRequire } from "node:module"; const require = __nodalCreateRequire(import.meta.url);` },
        plugins: [this.#portable ? portablePlugin : this.#resolvePlugin()],
      });
    }
    let result;
    try {
      result = await this.#ctx.rebuild();
    } catch (error) {
      const failure = error as { errors?: Message[] };
      if (failure.errors && failure.errors.length > 0) {
        const color = !process.env.NO_COLOR && stderr.isTTY === true;
        const text = (await esbuild.formatMessages(failure.errors, { kind: "error", color })).join("").trimEnd();
        throw new BuildError(`build failed:\n${text}`, failure.errors);
      }
      throw error;
    }
    const out = result.outputFiles!.find((f) => f.path.endsWith(".mjs"))!;
    const hash = createHash("sha256").update(out.contents).digest("hex").slice(0, 16);
    mkdirSync(this.outDir, { recursive: true, mode: 0o700 });
    const file = join(this.outDir, `${basename(this.entry).replace(/\.[^.]+$/, "")}-${hash}.mjs`);
    if (!existsSync(file)) writeFileSync(file, out.contents);
    const cwd = dirname(this.entry);
    const inputs = Object.keys(result.metafile!.inputs)
      .filter((p) => !p.startsWith("<") && !p.includes("node_modules"))
      .map((p) => resolve(cwd, p.replace(/^file:/, "")));
    // From the metafile, not from our resolver's calls: an incremental rebuild does not
    // resolve unchanged files again.
    const externals = new Set<string>();
    for (const input of Object.values(result.metafile!.inputs)) {
      for (const imp of input.imports) if (imp.external && isAbsolute(imp.path) && imp.path !== SDK_ENTRY) externals.add(imp.path);
    }
    const packages = new Set<string>();
    if (this.#portable) {
      for (const input of Object.values(result.metafile!.inputs)) {
        for (const imp of input.imports) if (imp.external && isBare(imp.path)) packages.add(packageName(imp.path));
      }
    }
    return {
      file,
      hash,
      inputs,
      externals: [...externals],
      ms: performance.now() - started,
      ...(this.#portable ? { packages: [...packages].sort() } : {}),
    };
  }

  /** Ends the build context and esbuild's service process (which would outlive us briefly). */
  async dispose(): Promise<void> {
    if (!this.#ctx) return;
    await this.#ctx.dispose();
    this.#ctx = undefined;
    await (await import("esbuild")).stop();
  }

  #resolvePlugin(): Plugin {
    const fallback = createRequire(join(NODAL_ROOT, "package.json"));
    const appDir = dirname(this.entry);
    return {
      name: "nodal-resolve",
      setup(build) {
        build.onResolve({ filter: /^nodal$/ }, () => ({ path: SDK_ENTRY, external: true }));
        build.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.pluginData === "nodal-inner" || !isBare(args.path)) return undefined;
          const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "nodal-inner" });
          let path = found.errors.length === 0 ? found.path : undefined;
          if (!path) {
            // Not installed next to the app: packages nodal itself ships (express, zod…) still work.
            try {
              path = fallback.resolve(args.path);
            } catch {
              return { errors: notInstalled(args.path, args.resolveDir, appDir) ?? found.errors };
            }
          }
          return { path, external: true };
        });
      },
    };
  }
}

/** The first line of a portable bundle (see `Builder`'s `portable`). */
export const PORTABLE_MARK = "// nodal portable snapshot: imports packages and \"nodal\" from node_modules beside it";

/** Every bare import (packages, `"nodal"`) stays as written. */
const portablePlugin: Plugin = {
  name: "nodal-portable",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (isBare(args.path) ? { path: args.path, external: true } : undefined));
  },
};

/** `left-pad` of `left-pad/lib/x`, `@scope/pkg` of `@scope/pkg/sub`. */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return (specifier.startsWith("@") ? parts.slice(0, 2) : parts.slice(0, 1)).join("/");
}

/**
 * When no node_modules from the importing file up holds the package: says how to install it,
 * instead of esbuild's advice to mark the path external (which would only fail at run time).
 */
function notInstalled(specifier: string, fromDir: string, appDir: string): PartialMessage[] | undefined {
  const name = packageName(specifier);
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", name))) return undefined; // there, but broken: esbuild says why
    if (dirname(dir) === dir) break;
  }
  const where = relative(process.cwd(), appDir);
  const command = `npm install ${name}`;
  return [
    {
      text: `Could not resolve "${specifier}": the package "${name}" is not installed`,
      notes: [{ text: `Install it in the app's folder: ${where === "" ? command : `cd ${where.startsWith("..") ? appDir : where} && ${command}`}` }],
    },
  ];
}
