// Tests for src/sdk/security: tenant directories, encryption, and the express middlewares,
// the latter through a real express 5 server on an ephemeral port and real HTTP.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, isAbsolute, join, relative, sep } from "node:path";
import express from "express";
import { z } from "zod";
import {
  tenantPath,
  ensureTenantDir,
  encryptJSON,
  decryptJSON,
  generateKey,
  DecryptionError,
  requireApiKey,
  rateLimit,
  validateBody,
  InvalidError,
} from "../../dist/sdk/index.js";

const sha256hex = (text) => createHash("sha256").update(text, "utf8").digest("hex");
const KEY_HINT = "generate one with `openssl rand -base64 32`";

/** Starts an express app on 127.0.0.1:0 and returns its URL and a close function. */
async function serve(app) {
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, "127.0.0.1", (error) => (error ? reject(error) : resolve(s)));
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections(); // fetch keeps connections alive; close() would wait for them
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** fetch + parsed JSON body. */
async function request(url, { token, headers = {}, ...init } = {}) {
  const response = await fetch(url, {
    ...init,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

/** Runs fn with some environment variables set (undefined deletes), then restores them. */
async function withEnv(vars, fn) {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe("tenantPath", () => {
  let volume;
  before(async () => {
    volume = { path: await mkdtemp(join(tmpdir(), "nodal-tenant-")) };
  });
  after(async () => {
    await rm(volume.path, { recursive: true, force: true });
  });

  const nasty = ["../b", "a/../../etc", "..", "/", ".", "a\u0000b", "ü", "u\u0308", "C:\\Windows", "%2e%2e%2f", "a".repeat(10_000), " ", "🎉"];

  test("every id lands strictly inside <volume>/tenants, at aa/bb/sha256(id)", () => {
    const tenants = join(volume.path, "tenants");
    for (const id of nasty) {
      const dir = tenantPath(volume, id);
      assert.ok(isAbsolute(dir), `absolute for ${JSON.stringify(id.slice(0, 20))}`);
      const rel = relative(tenants, dir);
      assert.ok(rel !== "" && !rel.startsWith("..") && !isAbsolute(rel), `inside tenants: ${dir}`);
      const hash = sha256hex(id);
      assert.deepEqual(rel.split(sep), [hash.slice(0, 2), hash.slice(2, 4), hash]);
      assert.equal(basename(dir), hash);
    }
  });

  test("distinct ids give distinct directories; the same id the same one", () => {
    const dirs = nasty.map((id) => tenantPath(volume, id));
    assert.equal(new Set(dirs).size, nasty.length);
    // "ü" precomposed and decomposed are different strings, so different tenants.
    assert.notEqual(tenantPath(volume, "ü"), tenantPath(volume, "u\u0308"));
    for (const id of nasty) assert.equal(tenantPath(volume, id), tenantPath({ path: volume.path }, id));
  });

  test("does not create the directory; ensureTenantDir does, owner-only", async () => {
    const dir = tenantPath(volume, "acme");
    assert.equal(existsSync(dir), false);
    assert.equal(await ensureTenantDir(volume, "acme"), dir);
    const info = await stat(dir);
    assert.ok(info.isDirectory());
    assert.equal(info.mode & 0o777, 0o700);
    assert.equal(await ensureTenantDir(volume, "acme"), dir); // idempotent
  });

  test("empty, non-string and unencodable ids are InvalidError", () => {
    for (const id of ["", undefined, null, 42, {}, ["a"], "\uD800", "a\uDFFFb"]) {
      assert.throws(() => tenantPath(volume, id), InvalidError, `id ${String(id)}`);
    }
    assert.throws(() => tenantPath(volume, ""), /tenantId must be a non-empty string \(got an empty string\)/);
    assert.throws(() => tenantPath({}, "a"), InvalidError);
  });
});

describe("encryptJSON / decryptJSON", () => {
  const key = generateKey();
  const TOKEN = /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

  test("round-trips JSON values", () => {
    const values = [
      { a: 1, nested: { list: [1, "two", null, true], empty: {} } },
      "héllo wörld ✓ 🎉 \u0000 \n",
      { "ключ": "值", emoji: "👩‍💻" },
      42,
      -0.125,
      1e300,
      0,
      null,
      false,
      [],
      "",
    ];
    for (const value of values) {
      const token = encryptJSON(value, key);
      assert.match(token, TOKEN);
      assert.deepEqual(decryptJSON(token, key), value);
    }
  });

  test("tokens carry the key id and a fresh IV each time", () => {
    const bytes = Buffer.from(key, "base64");
    const a = encryptJSON({ x: 1 }, key);
    const b = encryptJSON({ x: 1 }, key);
    assert.notEqual(a, b);
    assert.equal(a.split(".")[1], createHash("sha256").update(bytes).digest("hex").slice(0, 8));
    assert.equal(Buffer.from(a.split(".")[2], "base64url").length, 12);
  });

  test("a Buffer, base64, base64url and newline-terminated string are the same key", () => {
    const bytes = randomBytes(32);
    const forms = [bytes, bytes.toString("base64"), bytes.toString("base64url"), bytes.toString("base64") + "\n"];
    for (const writer of forms) {
      for (const reader of forms) assert.deepEqual(decryptJSON(encryptJSON({ ok: 1 }, writer), reader), { ok: 1 });
    }
  });

  test("a list of keys decrypts tokens of any of them (rotation)", () => {
    const oldKey = generateKey();
    const newKey = generateKey();
    const oldToken = encryptJSON({ v: "old" }, oldKey);
    const newToken = encryptJSON({ v: "new" }, newKey);
    assert.deepEqual(decryptJSON(oldToken, [newKey, oldKey]), { v: "old" });
    assert.deepEqual(decryptJSON(newToken, [newKey, oldKey]), { v: "new" });
    assert.throws(() => decryptJSON(oldToken, [newKey]), DecryptionError);
  });

  test("a wrong key is a DecryptionError, an InvalidError", () => {
    const token = encryptJSON({ secret: true }, key);
    assert.throws(
      () => decryptJSON(token, generateKey()),
      (error) =>
        error instanceof DecryptionError &&
        error instanceof InvalidError &&
        error.name === "DecryptionError" &&
        /made with another key/.test(error.message),
    );
  });

  test("every single-character change of a token is a DecryptionError", () => {
    const token = encryptJSON({ amount: 100, to: "alice" }, key);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let tried = 0;
    for (let i = 0; i < token.length; i++) {
      const c = token[i];
      const index = alphabet.indexOf(c);
      // Flip the lowest bit (what lenient base64 decoders ignore at the end), a high bit,
      // and swap in a separator or a letter.
      const replacements = index >= 0 ? [alphabet[index ^ 1], alphabet[index ^ 32], "."] : ["x", "1"];
      for (const r of replacements) {
        const tampered = token.slice(0, i) + r + token.slice(i + 1);
        assert.notEqual(tampered, token);
        assert.throws(() => decryptJSON(tampered, key), DecryptionError, `position ${i} → ${r}`);
        tried++;
      }
    }
    assert.ok(tried > token.length * 2);
  });

  test("truncated, extended, foreign and future tokens are DecryptionErrors", () => {
    const token = encryptJSON({ a: 1 }, key);
    for (let i = 0; i < token.length; i++) {
      assert.throws(() => decryptJSON(token.slice(0, i), key), DecryptionError, `prefix of ${i}`);
    }
    assert.throws(() => decryptJSON(token + "A", key), DecryptionError);
    assert.throws(() => decryptJSON(token + ".AAAA", key), DecryptionError);
    assert.throws(() => decryptJSON("hello", key), /not a nodal token or truncated \(expected v1\.<keyId>/);
    assert.throws(() => decryptJSON("v2" + token.slice(2), key), /unsupported token version "v2"/);
    assert.throws(() => decryptJSON(42, key), (e) => e instanceof DecryptionError && /must be a string/.test(e.message));
  });

  test("keys that are not 32 bytes are InvalidError saying how to make one", () => {
    const cases = [
      [Buffer.alloc(16), `key must be 32 bytes (got 16); ${KEY_HINT}`],
      [Buffer.alloc(33), `key must be 32 bytes (got 33); ${KEY_HINT}`],
      [randomBytes(31).toString("base64"), `key must be 32 bytes (got 31); ${KEY_HINT}`],
      // 32 characters of text are not 32 bytes: strings are read as base64.
      ["correct-horse-battery-staple-123", `key must be 32 bytes (got 24); ${KEY_HINT}`],
      ["", `key must be 32 bytes, as a Buffer or a base64 string (got a string that is not base64); ${KEY_HINT}`],
      ["not base64!", `key must be 32 bytes, as a Buffer or a base64 string (got a string that is not base64); ${KEY_HINT}`],
      [42, `key must be 32 bytes, as a Buffer or a base64 string (got number); ${KEY_HINT}`],
    ];
    const token = encryptJSON(1, key);
    for (const [bad, message] of cases) {
      const expected = (e) => e instanceof InvalidError && !(e instanceof DecryptionError) && e.message === message;
      assert.throws(() => encryptJSON(1, bad), expected);
      assert.throws(() => decryptJSON(token, bad), expected);
      assert.throws(() => decryptJSON(token, [key, bad]), expected);
    }
    assert.throws(() => decryptJSON(token, []), /pass at least one key/);
  });

  test("values that are not JSON are InvalidError; generateKey makes distinct 32-byte keys", () => {
    assert.throws(() => encryptJSON(undefined, key), /not JSON-serializable \(got undefined\)/);
    assert.throws(() => encryptJSON(10n, key), InvalidError);
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => encryptJSON(cyclic, key), InvalidError);
    const a = generateKey();
    assert.equal(Buffer.from(a, "base64").length, 32);
    assert.notEqual(a, generateKey());
  });
});

describe("requireApiKey", () => {
  let server;
  before(async () => {
    const app = express();
    const me = (req, res) => res.json({ apiKey: req.apiKey, apiKeyId: res.locals.apiKeyId });
    app.get("/me", requireApiKey(), me);
    app.get("/custom", requireApiKey({ envVar: "NODAL_TEST_KEYS" }), me);
    app.get("/fixed", requireApiKey({ keys: [" fixed-1 ", ""] }), me);
    app.get("/none", requireApiKey({ keys: [] }), me);
    server = await serve(app);
  });
  after(() => server.close());

  test("accepts a configured Bearer key, trimmed, and exposes its id", async () => {
    await withEnv({ API_KEYS: " key-one , ,key-two ,," }, async () => {
      for (const [key, scheme] of [["key-one", "Bearer"], ["key-two", "bearer"]]) {
        const r = await request(`${server.url}/me`, { headers: { authorization: `${scheme} ${key}` } });
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, { apiKey: key, apiKeyId: sha256hex(key).slice(0, 12) });
      }
    });
  });

  test("401 missing API key without Bearer credentials", async () => {
    await withEnv({ API_KEYS: "key-one" }, async () => {
      for (const headers of [{}, { authorization: "Basic a2V5LW9uZTo=" }, { authorization: "Bearer " }, { authorization: "key-one" }]) {
        const r = await request(`${server.url}/me`, { headers });
        assert.equal(r.status, 401, JSON.stringify(headers));
        assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="nodal"');
        assert.match(r.headers.get("content-type"), /^application\/json/);
        assert.deepEqual(r.body, { error: "missing API key" });
      }
    });
  });

  test("401 invalid API key with error=invalid_token for a wrong, partial or longer key", async () => {
    await withEnv({ API_KEYS: "key-one" }, async () => {
      for (const token of ["nope", "key-on", "key-one1", "KEY-ONE"]) {
        const r = await request(`${server.url}/me`, { token });
        assert.equal(r.status, 401, token);
        assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="nodal", error="invalid_token"');
        assert.deepEqual(r.body, { error: "invalid API key" });
      }
    });
  });

  test("reads API_KEYS on every request (rotation)", async () => {
    await withEnv({ API_KEYS: "old-key" }, async () => {
      assert.equal((await request(`${server.url}/me`, { token: "old-key" })).status, 200);
      process.env.API_KEYS = "new-key";
      assert.equal((await request(`${server.url}/me`, { token: "old-key" })).status, 401);
      assert.equal((await request(`${server.url}/me`, { token: "new-key" })).status, 200);
    });
  });

  test("fails closed with 500 when no keys are configured", async () => {
    for (const value of [undefined, "", " , ,"]) {
      await withEnv({ API_KEYS: value }, async () => {
        const r = await request(`${server.url}/me`, { token: "anything" });
        assert.equal(r.status, 500);
        assert.deepEqual(r.body, { error: "server has no API keys configured (set API_KEYS)" });
      });
    }
    const r = await request(`${server.url}/none`, { token: "anything" });
    assert.equal(r.status, 500);
    assert.match(r.body.error, /^server has no API keys configured/);
  });

  test("envVar and keys options", async () => {
    await withEnv({ API_KEYS: "env-key", NODAL_TEST_KEYS: undefined }, async () => {
      const none = await request(`${server.url}/custom`, { token: "env-key" });
      assert.equal(none.status, 500);
      assert.deepEqual(none.body, { error: "server has no API keys configured (set NODAL_TEST_KEYS)" });
      process.env.NODAL_TEST_KEYS = "custom-key";
      assert.equal((await request(`${server.url}/custom`, { token: "custom-key" })).status, 200);
      assert.equal((await request(`${server.url}/custom`, { token: "env-key" })).status, 401);
      assert.equal((await request(`${server.url}/fixed`, { token: "fixed-1" })).status, 200);
      assert.equal((await request(`${server.url}/fixed`, { token: "env-key" })).status, 401);
    });
    assert.throws(() => requireApiKey({ keys: "a,b" }), InvalidError);
    assert.throws(() => requireApiKey({ envVar: "" }), InvalidError);
  });
});

describe("rateLimit", () => {
  const servers = [];
  after(() => Promise.all(servers.map((s) => s.close())));
  async function limited(...middlewares) {
    const app = express();
    app.get("/", ...middlewares, (_req, res) => res.json({ ok: true }));
    const server = await serve(app);
    servers.push(server);
    return server.url;
  }

  test("limits per IP: RateLimit headers, then 429 with Retry-After and a JSON body", async () => {
    const url = await limited(rateLimit({ limit: 2, windowMs: 60_000 }));
    const first = await request(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("ratelimit-policy"), "2;w=60");
    assert.match(first.headers.get("ratelimit"), /^limit=2, remaining=1, reset=(59|60)$/);
    assert.equal(first.headers.get("x-ratelimit-limit"), null);
    assert.equal((await request(url)).status, 200);
    const over = await request(url);
    assert.equal(over.status, 429);
    const retryAfter = Number(over.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.deepEqual(over.body, { error: "rate limit exceeded", retryAfter });
    assert.match(over.headers.get("ratelimit"), /^limit=2, remaining=0, reset=/);
  });

  test("after requireApiKey, each key has its own bucket", async () => {
    const url = await limited(requireApiKey({ keys: ["key-a", "key-b"] }), rateLimit({ limit: 2 }));
    assert.equal((await request(url, { token: "key-a" })).status, 200);
    assert.equal((await request(url, { token: "key-a" })).status, 200);
    assert.equal((await request(url, { token: "key-a" })).status, 429);
    assert.equal((await request(url, { token: "key-b" })).status, 200);
  });

  test("alone, a known key (API_KEYS) has its own bucket; made-up tokens share the IP's", async () => {
    await withEnv({ API_KEYS: "real-key" }, async () => {
      const url = await limited(rateLimit({ limit: 2 }));
      assert.equal((await request(url, { token: "guess-1" })).status, 200);
      assert.equal((await request(url, { token: "guess-2" })).status, 200);
      assert.equal((await request(url, { token: "guess-3" })).status, 429);
      assert.equal((await request(url)).status, 429);
      assert.equal((await request(url, { token: "real-key" })).status, 200);
    });
  });

  test("a custom key function picks the bucket", async () => {
    const url = await limited(rateLimit({ limit: 1, key: (req) => String(req.headers["x-tenant"]) }));
    assert.equal((await request(url, { headers: { "x-tenant": "a" } })).status, 200);
    assert.equal((await request(url, { headers: { "x-tenant": "a" } })).status, 429);
    assert.equal((await request(url, { headers: { "x-tenant": "b" } })).status, 200);
  });

  test("bad options are InvalidError", () => {
    assert.throws(() => rateLimit({ limit: 0 }), /limit must be an integer of at least 1 \(got 0\)/);
    assert.throws(() => rateLimit({ windowMs: -5 }), InvalidError);
    assert.throws(() => rateLimit({ windowMs: 1.5 }), InvalidError);
    assert.throws(() => rateLimit({ key: "ip" }), InvalidError);
  });
});

describe("validateBody", () => {
  let server;
  before(async () => {
    const Todo = z.object({
      title: z.string().min(1),
      tags: z.array(z.string()).default([]),
      meta: z.object({ priority: z.number().int() }).optional(),
    });
    const Async = z.object({ a: z.string().refine(async () => true) });
    const app = express();
    const echo = (req, res) => res.json({ body: req.body });
    app.post("/todos", express.json(), validateBody(Todo), echo);
    app.post("/async", express.json(), validateBody(Async), echo);
    app.use((error, _req, res, _next) => res.status(500).json({ caught: error.constructor.name }));
    server = await serve(app);
  });
  after(() => server.close());

  const post = (path, body, headers = { "content-type": "application/json" }) =>
    request(`${server.url}${path}`, { method: "POST", headers, body });

  test("a valid body is replaced by the parsed data", async () => {
    const r = await post("/todos", JSON.stringify({ title: "milk", extra: "dropped" }));
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { body: { title: "milk", tags: [] } });
  });

  test("an invalid body is a 400 listing each field with a dotted path", async () => {
    const r = await post("/todos", JSON.stringify({ title: "", tags: ["ok", 7], meta: { priority: "high" } }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid request body");
    assert.deepEqual(r.body.fields.map((f) => f.path).sort(), ["meta.priority", "tags.1", "title"]);
    for (const field of r.body.fields) assert.ok(typeof field.message === "string" && field.message.length > 0);
    const whole = await post("/todos", JSON.stringify([1, 2]));
    assert.equal(whole.status, 400);
    assert.deepEqual(whole.body.fields.map((f) => f.path), [""]);
  });

  test("no JSON body is a 400 saying so", async () => {
    for (const [body, headers] of [[undefined, {}], ["title=milk", { "content-type": "application/x-www-form-urlencoded" }]]) {
      const r = await post("/todos", body, headers);
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, { error: "expected a JSON body" });
    }
  });

  test("a schema that throws goes to the error handler; a non-schema is InvalidError", async () => {
    const r = await post("/async", JSON.stringify({ a: "x" }));
    assert.equal(r.status, 500);
    assert.ok(r.body.caught, JSON.stringify(r.body));
    assert.throws(() => validateBody({}), /schema must have a safeParse method/);
    assert.throws(() => validateBody(undefined), InvalidError);
  });
});
