import { defineCommand } from "../define.js";
import { stdout } from "../../ui/stdio.js";

/** Names that work as environment variables in every shell: a letter or "_", then letters, digits, "_". */
const KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export default defineCommand({
  path: ["secret", "create"],
  args: "<name> [pairs...]",
  description: "store a secret from KEY=VALUE pairs and/or a dotenv file (values are never printed)",
  options: (cmd) =>
    cmd
      .option("--from-dotenv <file>", "read KEY=VALUE lines from a dotenv file (pairs on the command line win)")
      .option("--force", "replace the secret if it exists"),
  async run([name, ...pairs], opts) {
    const { readFileSync } = await import("node:fs");
    const { parseEnv } = await import("node:util");
    const { UserError } = await import("../../errors.js");
    const { secretName, writeSecret } = await import("../../registry/secrets.js");
    secretName(name!);
    const values: Record<string, string> = {};
    const example = `write KEY=VALUE, e.g. \`nodal secret create ${name} API_KEY=…\``;
    const badKey = (key: string, from: string) =>
      new UserError("E_INVALID_INPUT", `invalid key "${key}" ${from}: use letters, digits and "_", not starting with a digit`, "e.g. API_KEY=…");
    if (opts.fromDotenv !== undefined) {
      let text: string;
      try {
        text = readFileSync(opts.fromDotenv, "utf8");
      } catch {
        throw new UserError("E_FILE_NOT_FOUND", `dotenv file ${opts.fromDotenv} cannot be read`, "check the path given to --from-dotenv");
      }
      for (const [key, value] of Object.entries(parseEnv(text))) {
        if (!KEY_RE.test(key)) throw badKey(key, `in ${opts.fromDotenv}`);
        if (value !== undefined) values[key] = value;
      }
    }
    pairs.forEach((pair, i) => {
      const eq = pair.indexOf("=");
      // The argument is not quoted back: without "=" it may well be a pasted value.
      if (eq < 0) throw new UserError("E_INVALID_INPUT", `argument ${i + 1} after the secret name is not KEY=VALUE`, example);
      const key = pair.slice(0, eq);
      if (!KEY_RE.test(key)) throw badKey(key, "on the command line");
      values[key] = pair.slice(eq + 1);
    });
    const keys = Object.keys(values).sort();
    if (keys.length === 0) {
      throw new UserError("E_INVALID_INPUT", `no values given for secret "${name}"`, `pass KEY=VALUE pairs or --from-dotenv FILE; ${example}`);
    }
    const outcome = writeSecret(name!, values, opts.force === true);
    stdout.write(
      `✓ ${outcome === "created" ? "Created" : "Replaced"} secret "${name}" with ${keys.length === 1 ? "key" : "keys"} ${keys.join(", ")}\n\n` +
        `Use it in an app:\n  app.function({ secrets: [Secret.fromName(${JSON.stringify(name)})] }, async () => process.env.${keys[0]});\n`,
    );
  },
});
