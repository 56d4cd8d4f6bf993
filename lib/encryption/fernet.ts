import { Decipher, createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'crypto';

/** The version byte of a Fernet token (spec: https://github.com/fernet/spec/blob/master/Spec.md). */
const VERSION = 0x80;
/** Tokens dated further than this in the future are refused when an age limit is checked (the spec's clock skew). */
const MAX_CLOCK_SKEW_S = 60;
const HEADER = 1 + 8 + 16; // version, timestamp, IV
const MAC = 32;

/**
 * A Fernet key: 32 bytes, the first 16 sign (HMAC-SHA256), the last 16 encrypt (AES-128-CBC).
 * @internal
 */
export class FernetKey {
  private readonly signing: Buffer;
  private readonly encryption: Buffer;

  constructor(bytes: Buffer) {
    if (bytes.length !== 32) throw new RangeError(`A Fernet key is 32 bytes, got ${bytes.length}.`);
    this.signing = bytes.subarray(0, 16);
    this.encryption = bytes.subarray(16, 32);
  }

  /** The token of `plaintext`, dated `nowSeconds`, with a random IV unless one is given (test vectors). */
  encrypt(plaintext: Buffer, nowSeconds = Math.floor(Date.now() / 1000), iv: Buffer = randomBytes(16)): string {
    const cipher = createCipheriv('aes-128-cbc', this.encryption, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const header = Buffer.alloc(HEADER);
    header[0] = VERSION;
    header.writeBigUInt64BE(BigInt(nowSeconds), 1);
    iv.copy(header, 9);
    const signed = Buffer.concat([header, ciphertext]);
    const mac = createHmac('sha256', this.signing).update(signed).digest();
    return Buffer.concat([signed, mac]).toString('base64url') + padding(signed.length + MAC);
  }

  /**
   * The plaintext of `token`, or `undefined` when it is not a token of this key (bad format, MAC
   * mismatch, bad padding) or, with `ttlSeconds`, older than that or dated too far ahead.
   * The MAC is compared in constant time before anything is decrypted.
   */
  decrypt(token: string, ttlSeconds?: number, nowSeconds = Math.floor(Date.now() / 1000)): Buffer | undefined {
    const opened = this.open(token);
    if (!opened) return undefined;
    if (ttlSeconds !== undefined && !fresh(opened.issued, ttlSeconds, nowSeconds)) return undefined;
    return opened.plaintext;
  }

  /**
   * The plaintext of `token` and the time it was issued (seconds since the epoch), whatever its age,
   * or `undefined` when it is not a token of this key (bad format, MAC mismatch, bad padding). The
   * MAC is compared in constant time before anything is decrypted.
   */
  open(token: string): { plaintext: Buffer; issued: number } | undefined {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token)) return undefined;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length < HEADER + 16 + MAC || (raw.length - HEADER - MAC) % 16 !== 0 || raw[0] !== VERSION)
      return undefined;
    const signed = raw.subarray(0, raw.length - MAC);
    const expected = createHmac('sha256', this.signing).update(signed).digest();
    if (!timingSafeEqual(expected, raw.subarray(raw.length - MAC))) return undefined;
    // CBC decryption of [IV, ciphertext] with a chaining value left by any earlier call: the IV
    // block's output is garbage, and sets the chain to the IV, so what follows is the plaintext.
    // One decipher per key, without padding (block-aligned input: no state beyond the chain).
    const out = this.cbc().update(raw.subarray(9, raw.length - MAC));
    const pad = out[out.length - 1];
    if (pad < 1 || pad > 16 || out.length - 16 < pad) return undefined;
    for (let i = out.length - pad; i < out.length - 1; i++) if (out[i] !== pad) return undefined; // bad padding
    return { plaintext: out.subarray(16, out.length - pad), issued: Number(raw.readBigUInt64BE(1)) };
  }

  private decipher?: Decipher;

  /** The key's AES-128-CBC decipher without padding, made once (creating one costs more than using it). */
  private cbc(): Decipher {
    if (!this.decipher) {
      this.decipher = createDecipheriv('aes-128-cbc', this.encryption, Buffer.alloc(16));
      this.decipher.setAutoPadding(false);
    }
    return this.decipher;
  }
}

/**
 * Whether a token issued at `issued` is within `ttlSeconds` of `nowSeconds` and not dated further
 * ahead than the spec's clock skew.
 * @internal
 */
export function fresh(issued: number, ttlSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  return issued + ttlSeconds >= nowSeconds && issued <= nowSeconds + MAX_CLOCK_SKEW_S;
}

/** Python's url-safe base64 keeps the `=` padding; Node's `base64url` drops it. */
function padding(byteLength: number): string {
  const rest = byteLength % 3;
  return rest === 0 ? '' : rest === 1 ? '==' : '=';
}
