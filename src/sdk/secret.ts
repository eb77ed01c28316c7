import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { homeDir } from "../registry/home.js";
import { DotenvError, parseDotenv } from "./dotenv.js";
import { InvalidError, NotFoundError } from "./errors.js";
import { checkName } from "./names.js";

/** Parameters of `Secret.fromName`. */
export interface SecretFromNameParams {
  /** Keys the secret must hold; a missing one fails the app's load, naming the key. */
  requiredKeys?: string[];
}

/** The stored file of a named secret: `$NODAL_HOME/secrets/NAME.json`, mode 0600. */
export function secretFile(name: string): string {
  return join(homeDir("secrets"), `${name}.json`);
}

/**
 * A named secret in a container (`nodal start`): a Kubernetes Secret put its keys in the
 * environment. The keys are the required ones and those `NODAL_SECRET_KEYS` lists for the
 * name (JSON `{ "name": ["KEY", …] }`, written by `nodal export kubernetes`); values are never
 * in that list, only names.
 */
function fromEnvironment(name: string, required: string[]): Record<string, string> {
  let listed: string[] = [];
  try {
    listed = (JSON.parse(process.env.NODAL_SECRET_KEYS ?? "{}") as Record<string, string[]>)[name] ?? [];
  } catch {
    throw new InvalidError("NODAL_SECRET_KEYS is not valid JSON");
  }
  const values: Record<string, string> = {};
  for (const key of new Set([...listed, ...required])) {
    const value = process.env[key];
    if (value !== undefined) values[key] = value;
  }
  return values;
}

/**
 * Environment variables injected into the workers of the functions that declare the secret,
 * and only those.
 *
 * @example
 * const keys = Secret.fromName("todo-keys", { requiredKeys: ["API_KEY"] });
 * app.webApp({ secrets: [keys] }, () => web);
 */
export class Secret {
  /** The stored name, or undefined for `fromDict` / `fromDotenv` secrets. */
  readonly name: string | undefined;
  #load: () => Record<string, string>;
  #requiredKeys: string[];

  private constructor(name: string | undefined, load: () => Record<string, string>, requiredKeys: string[] = []) {
    this.name = name;
    this.#load = load;
    this.#requiredKeys = requiredKeys;
  }

  /** A secret stored with `nodal secret create`. Read when the app loads. */
  static fromName(name: string, params: SecretFromNameParams = {}): Secret {
    checkName("secret", name);
    return new Secret(
      name,
      () => {
        const source = process.env.NODAL_SECRETS_SOURCE;
        if (source === "env") return fromEnvironment(name, params.requiredKeys ?? []);
        if (source === "build") return {}; // `nodal start --check` in an image's build: no secret is there yet
        const file = secretFile(name);
        if (!existsSync(file)) {
          throw new NotFoundError(`secret "${name}" does not exist; create it with \`nodal secret create ${name} KEY=VALUE\``);
        }
        return (JSON.parse(readFileSync(file, "utf8")) as { values: Record<string, string> }).values;
      },
      params.requiredKeys ?? [],
    );
  }

  /** A secret from literal values (e.g. built from `process.env` at load time). */
  static fromDict(values: Record<string, string | undefined>): Secret {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(values ?? {})) if (v !== undefined) clean[k] = String(v);
    return new Secret(undefined, () => clean);
  }

  /**
   * A secret from a dotenv file (default `.env` in the current directory). Quoted values may
   * span lines (a PEM key); a line that is not KEY=VALUE fails the load, named by its number.
   */
  static fromDotenv(path = ".env"): Secret {
    const file = resolve(path);
    return new Secret(undefined, () => {
      if (!existsSync(file)) throw new NotFoundError(`dotenv file ${file} does not exist`);
      try {
        return parseDotenv(readFileSync(file, "utf8"));
      } catch (error) {
        // The message names the line only: the file holds secrets, and errors reach logs.
        if (error instanceof DotenvError) throw new InvalidError(`dotenv file ${file}: ${error.message}`);
        throw error;
      }
    });
  }

  /** The variables, after checking `requiredKeys`. */
  resolveValues(): Record<string, string> {
    const values = this.#load();
    const missing = process.env.NODAL_SECRETS_SOURCE === "build" ? [] : this.#requiredKeys.filter((k) => !(k in values));
    if (missing.length > 0) {
      throw new InvalidError(
        `secret "${this.name}" is missing required key${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; ` +
          (process.env.NODAL_SECRETS_SOURCE === "env"
            ? `the environment must hold ${missing.length > 1 ? "them" : "it"} (in Kubernetes: the Secret the pod's envFrom names)`
            : `add ${missing.length > 1 ? "them" : "it"} with \`nodal secret create ${this.name} ${missing[0]}=… --force\``),
      );
    }
    return values;
  }

  toString(): string {
    return this.name ? `secret "${this.name}"` : "inline secret";
  }
}
