import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { InvalidError } from "../errors.js";
import { keyIdOf, parseKey, type EncryptionKey } from "./key.js";

/** A token could not be decrypted: wrong key, altered or truncated data, unknown format. */
export class DecryptionError extends InvalidError {
  override name = "DecryptionError";
}

const VERSION = "v1";
const IV_BYTES = 12; // the size GCM is designed for (NIST SP 800-38D)
const TAG_BYTES = 16;
const FORMAT = `${VERSION}.<keyId>.<iv>.<ciphertext>.<tag>`;

/**
 * Encrypts any JSON value with AES-256-GCM into a printable token,
 * `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts, a fresh random IV each time).
 * The value goes through `JSON.stringify`, so the usual JSON rules apply (a `Date` comes back
 * as a string, `undefined` object fields are dropped).
 *
 * @example
 * const key = process.env.DATA_KEY!; // 32 bytes as base64, from `nodal secret create`
 * await data.writeJSON("card.json", { token: encryptJSON({ pan: "4242…" }, key) });
 */
export function encryptJSON(value: unknown, key: EncryptionKey): string {
  const bytes = parseKey(key);
  const plaintext = Buffer.from(serialize(value), "utf8");
  const keyId = keyIdOf(bytes);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", bytes, iv, { authTagLength: TAG_BYTES });
  // The header is authenticated too: otherwise an edited keyId would still decrypt.
  cipher.setAAD(Buffer.from(`${VERSION}.${keyId}`, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, keyId, b64(iv), b64(ciphertext), b64(tag)].join(".");
}

/**
 * Decrypts a token from {@link encryptJSON}. Give a list of keys to read data written with
 * any of them while you rotate (encrypt with the newest, keep the old ones here until the
 * data is rewritten). A wrong key, an altered or truncated token is a `DecryptionError`,
 * never garbage.
 *
 * @example
 * const card = decryptJSON<{ pan: string }>(token, [process.env.DATA_KEY!, process.env.OLD_DATA_KEY!]);
 */
export function decryptJSON<T = unknown>(token: string, key: EncryptionKey | readonly EncryptionKey[]): T {
  const keys = (Array.isArray(key) ? key : [key]).map(parseKey);
  if (keys.length === 0) throw new InvalidError("decryptJSON: pass at least one key");
  const parts = parseToken(token);
  // Try the keys whose id matches first; then the others, in case a key id ever collides.
  const matching = keys.filter((k) => keyIdOf(k) === parts.keyId);
  const others = keys.filter((k) => keyIdOf(k) !== parts.keyId);
  for (const candidate of [...matching, ...others]) {
    const plaintext = open(candidate, parts);
    if (plaintext !== undefined) return deserialize(plaintext) as T;
  }
  throw new DecryptionError(
    matching.length > 0
      ? "cannot decrypt: the token was altered (authentication failed)"
      : `cannot decrypt: the token was made with another key (key id ${parts.keyId} matches none of the ${keys.length} key(s) given) or was altered`,
  );
}

interface TokenParts {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function parseToken(token: unknown): TokenParts {
  if (typeof token !== "string") {
    throw new DecryptionError(`cannot decrypt: token must be a string (got ${token === null ? "null" : typeof token})`);
  }
  const parts = token.split(".");
  const version = parts[0] ?? "";
  if (version !== VERSION && /^v\d{1,4}$/.test(version)) {
    throw new DecryptionError(`cannot decrypt: unsupported token version "${version}" (this nodal reads ${VERSION})`);
  }
  const malformed = new DecryptionError(`cannot decrypt: not a nodal token or truncated (expected ${FORMAT})`);
  if (parts.length !== 5 || version !== VERSION) throw malformed;
  const [, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string];
  if (!/^[0-9a-f]{8}$/.test(keyId)) throw malformed;
  const decoded = { keyId, iv: unb64(iv), ciphertext: unb64(ciphertext), tag: unb64(tag) };
  if (!decoded.iv || !decoded.ciphertext || !decoded.tag) throw malformed;
  if (decoded.iv.length !== IV_BYTES || decoded.tag.length !== TAG_BYTES || decoded.ciphertext.length === 0) {
    throw malformed;
  }
  return decoded as TokenParts;
}

/** The plaintext, or undefined when this key does not authenticate the token. */
function open(key: Buffer, parts: TokenParts): string | undefined {
  // authTagLength pins the tag size: without it Node accepts shorter (forgeable) tags.
  const decipher = createDecipheriv("aes-256-gcm", key, parts.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(`${VERSION}.${parts.keyId}`, "utf8"));
  decipher.setAuthTag(parts.tag);
  try {
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString("utf8");
  } catch {
    return undefined; // "Unsupported state or unable to authenticate data"
  }
}

function serialize(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    // BigInt and cycles throw a TypeError.
    throw new InvalidError(`encryptJSON: value is not JSON-serializable (${(error as Error).message})`, { cause: error });
  }
  if (text === undefined) {
    throw new InvalidError(`encryptJSON: value is not JSON-serializable (got ${typeof value})`);
  }
  return text;
}

function deserialize(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Authenticated data is ours, so this means a token made by something else with our key.
    throw new DecryptionError("cannot decrypt: the token authenticated but does not hold JSON");
  }
}

function b64(bytes: Buffer): string {
  return bytes.toString("base64url");
}

/** Strict base64url: Node's decoder skips bad characters and ignores trailing bits, so a
 * changed last character could decode to the same bytes; only the canonical form is accepted. */
function unb64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : undefined;
}
