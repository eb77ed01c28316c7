import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "../helpers.js";

test("a template README that changes a secret says how the app gets it: `nodal app rollover NAME`, not a restart", () => {
  const dir = join(ROOT, "templates");
  const rotating = [];
  for (const name of readdirSync(dir)) {
    const readme = join(dir, name, "README.md");
    if (!existsSync(readme)) continue;
    const text = readFileSync(readme, "utf8");
    if (!/nodal secret create .*--force/.test(text)) continue;
    const appName = readFileSync(join(dir, name, "app.ts"), "utf8").match(/new App\("([^"]+)"\)/)[1];
    rotating.push(name);
    assert.ok(text.includes(`nodal app rollover ${appName}`), `${name}/README.md names \`nodal app rollover ${appName}\``);
    assert.doesNotMatch(text, /\brestart\b/i, `${name}/README.md: nodal has no restart command`);
  }
  assert.deepEqual(rotating.sort(), ["encrypted-storage", "multi-tenant"]);
});
