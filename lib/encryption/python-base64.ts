/** The standard base64 alphabet's values (`+` and `/`), -1 for every other ASCII character. */
const VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * The bytes Python's `base64.urlsafe_b64decode(text)` returns, or `undefined` where it raises (a
 * non-ASCII character, incorrect padding). Python's decoder is lenient: `-` and `_` stand for `+`
 * and `/` (and `+`, `/` are accepted too), characters outside the alphabet (whitespace, a trailing
 * newline) are skipped, and a complete padding ends the input (what follows is ignored). Matching it
 * exactly is what makes a master key mean the same bytes here and in Python's `EncryptedSession`.
 * @internal
 */
export function pythonUrlsafeB64decode(text: string): Buffer | undefined {
  // Python: "string argument should contain only ASCII characters", before decoding anything.
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return undefined;
  const out: number[] = [];
  let quad = 0;
  let pads = 0;
  let left = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x3d /* = */) {
      if (quad >= 2 && quad + ++pads >= 4) return Buffer.from(out); // a complete padding: the end
      continue;
    }
    const value = VALUES[code === 0x2d /* - */ ? 0x2b : code === 0x5f /* _ */ ? 0x2f : code];
    if (value < 0) continue; // not in the alphabet: skipped
    pads = 0;
    if (quad === 0) {
      left = value;
    } else if (quad === 1) {
      out.push(((left << 2) | (value >> 4)) & 0xff);
      left = value & 0x0f;
    } else if (quad === 2) {
      out.push(((left << 4) | (value >> 2)) & 0xff);
      left = value & 0x03;
    } else {
      out.push(((left << 6) | value) & 0xff);
    }
    quad = (quad + 1) % 4;
  }
  return quad === 0 ? Buffer.from(out) : undefined; // Python: "Incorrect padding"
}
