import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DotenvError, parseDotenv } from "../../dist/modules/sdk/dotenv.js";
import { Secret } from "../../dist/modules/sdk/secret.js";

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----";

test("comments, export, unquoted, quoted and multi-line quoted values (a PEM key)", () => {
  const text = [
    "\uFEFF# a comment",
    "",
    "export API_KEY=sk-live-123 # trailing comment",
    "URL=postgres://u:p@h/db?a=b#frag",
    `SINGLE='raw \\n $x'`,
    `DOUBLE="tab\\there \\"q\\" \\\\ nl\\n"`,
    `PEM="${PEM}"`,
    `RAW_PEM='${PEM}'`,
    "EMPTY=",
    "  SPACED  =  value with spaces  ",
  ].join("\r\n");
  assert.deepEqual(parseDotenv(text), {
    API_KEY: "sk-live-123",
    URL: "postgres://u:p@h/db?a=b#frag",
    SINGLE: "raw \\n $x",
    DOUBLE: 'tab\there "q" \\ nl\n',
    PEM, // its lines were joined by CRLF in the file
    RAW_PEM: PEM,
    EMPTY: "",
    SPACED: "value with spaces",
  });
});

test("a multi-line double-quoted value keeps its line breaks and spaces", () => {
  assert.deepEqual(parseDotenv(`KEY="first  \n  second"\nNEXT=1\n`), { KEY: "first  \n  second", NEXT: "1" });
});

test("a bad line is named by its number, never by its text or a value", () => {
  const cases = [
    ["A=1\nsk-live-SECRETVALUE\nDB_URL=postgres://x\n", 2, /line 2 is not KEY=VALUE/],
    ["A=1\n\n1BAD=sk-live-SECRETVALUE\n", 3, /line 3 has an invalid key/],
    ["MY-KEY=sk-live-SECRETVALUE\n", 1, /line 1 has an invalid key/],
    ['A=1\nPEM="sk-live-SECRETVALUE\nmore\n', 2, /line 2 opens a " quote that is never closed/],
    ["PEM='sk-live-SECRETVALUE\nend' trailing-SECRETVALUE\n", 2, /line 2 has text after a closing quote/],
  ];
  for (const [text, line, re] of cases) {
    assert.throws(
      () => parseDotenv(text),
      (error) => {
        assert.ok(error instanceof DotenvError);
        assert.equal(error.line, line);
        assert.match(error.message, re);
        assert.doesNotMatch(error.message, /SECRETVALUE|sk-live|MY-KEY|1BAD/);
        return true;
      },
    );
  }
});

test("Secret.fromDotenv reads a PEM key and reports a bad line by file and number only", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nodal-dotenv-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "good.env"), `PEM="${PEM}"\nAPI_KEY=abc\n`);
  assert.deepEqual(Secret.fromDotenv(join(dir, "good.env")).resolveValues(), { PEM, API_KEY: "abc" });
  writeFileSync(join(dir, "bad.env"), "API_KEY=abc\nsk-live-SECRETVALUE\nDB_URL=x\n");
  assert.throws(
    () => Secret.fromDotenv(join(dir, "bad.env")).resolveValues(),
    (error) => {
      assert.equal(error.name, "InvalidError");
      assert.equal(error.message, `dotenv file ${join(dir, "bad.env")}: line 2 is not KEY=VALUE`);
      return true;
    },
  );
});
