import { createHash, randomBytes } from "node:crypto";
import { InvalidError } from "../errors.js";

/** An encryption key: 32 bytes, or a base64 / base64url string of 32 bytes (e.g. from a secret). */
export type EncryptionKey = Buffer | Uint8Array | string;

const KEY_BYTES = 32;
const HINT = "generate one with `openssl rand -base64 32`";
// Both alphabets, optional padding. Node's own decoder silently skips any other character,
// so without this check a typo'd key would decode to fewer bytes instead of failing clearly.
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * A fresh random key as base64 (32 bytes), ready for `nodal secret create NAME KEY=…`.
 *
 * @example
 * const key = generateKey(); // "q3Jx…=" (44 characters)
 * const token = encryptJSON({ hello: "world" }, key);
 */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

/** The key's 32 bytes; anything else is an `InvalidError` that says how to make a good key. */
export function parseKey(key: unknown): Buffer {
  let bytes: Buffer;
  if (key instanceof Uint8Array) {
    bytes = Buffer.from(key);
  } else if (typeof key === "string") {
    // Secrets often carry a trailing newline (`openssl rand -base64 32 > key`).
    const text = key.trim();
    if (!BASE64.test(text)) {
      throw new InvalidError(
        `key must be 32 bytes, as a Buffer or a base64 string (got a string that is not base64); ${HINT}`,
      );
    }
    bytes = Buffer.from(text, "base64");
  } else {
    const got = key === null ? "null" : typeof key;
    throw new InvalidError(`key must be 32 bytes, as a Buffer or a base64 string (got ${got}); ${HINT}`);
  }
  if (bytes.length !== KEY_BYTES) {
    throw new InvalidError(`key must be ${KEY_BYTES} bytes (got ${bytes.length}); ${HINT}`);
  }
  return bytes;
}

/** The public id of a key in tokens: the first 8 hex characters of its sha256. */
export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}
