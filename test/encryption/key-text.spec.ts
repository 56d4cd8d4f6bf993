import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import type { SessionItem } from '../../lib';
import { conversationKey } from '../../lib/encryption/key-derivation';
import { pythonUrlsafeB64decode } from '../../lib/encryption/python-base64';
import { TEST_URLS } from '../support/databases';
import { startMemory, TestMemory, urlFor } from '../support/memory';
import { havePython, pythonReads } from '../support/python-reader';
import { insertRawRows, storedMessageData } from '../support/raw-rows';

const fernetKey = randomBytes(32).toString('base64url') + '='; // as Fernet.generate_key() prints it
const item = (text: string): SessionItem => ({ role: 'user', content: text });

/** What Python's `base64.urlsafe_b64decode(s)` gives for each string (hex), or null where it raises. */
function pythonDecodes(inputs: string[]): (string | null)[] {
  const run = spawnSync(
    'python3',
    [
      '-c',
      'import sys, json, base64\nout = []\nfor s in json.load(sys.stdin):\n    try: out.append(base64.urlsafe_b64decode(s).hex())\n    except Exception: out.append(None)\nprint(json.dumps(out))',
    ],
    { input: JSON.stringify(inputs), encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/**
 * A master key means the same bytes here and in Python's EncryptedSession, which decodes it with the
 * lenient `base64.urlsafe_b64decode`: a Fernet key read from a file with its trailing newline, with
 * surrounding spaces or in the standard alphabet (+ /) is still that key; a Fernet key without its
 * `=` is a passphrase to Python. Keys that meant other bytes in earlier releases still open the rows
 * sealed under them.
 */
(havePython ? describe : describe.skip)('master key text, as Python reads it', () => {
  it('decodes every string exactly as Python base64.urlsafe_b64decode does (3,000 random strings)', () => {
    const alphabet = 'AZaz09+/-_=\n \t!.é';
    const inputs = [`${fernetKey}\n`, ` ${fernetKey} `, fernetKey.slice(0, -1), 'YW=Jj', 'YWJ=j', 'Y'];
    let seed = 11;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    for (let i = 0; i < 3000; i++) {
      let s = '';
      for (let j = next(16); j > 0; j--) s += alphabet[next(alphabet.length)];
      inputs.push(s);
    }
    const want = pythonDecodes(inputs);
    const got = inputs.map((s) => pythonUrlsafeB64decode(s)?.toString('hex') ?? null);
    expect(inputs.filter((_, i) => got[i] !== want[i])).toEqual([]);
  });

  describe('a conversation written here with a key in another form, read by Python with the same text', () => {
    let m: TestMemory | undefined;
    afterEach(async () => {
      await m?.close();
      m = undefined;
    });
    const standard = fernetKey.replace(/-/g, '+').replace(/_/g, '/');
    it.each([
      ['a trailing newline', `${fernetKey}\n`],
      ['surrounding spaces', `  ${fernetKey} `],
      ['the standard alphabet', standard],
      ['no padding (a passphrase to Python)', fernetKey.slice(0, -1)],
    ])('%s', async (_name, key) => {
      m = await startMemory(urlFor('sqlite', TEST_URLS.sqlite), { encryption: { keys: key } });
      const id = `key-text-${Math.random()}`;
      await m.memory.session(id).addItems([item('one'), item('two')]);
      expect(pythonReads(key, id, await storedMessageData(m, id))).toEqual([item('one'), item('two')]);
    });
  });

  it('rows sealed under an unpadded key as earlier releases read it stay readable, and reencrypt() moves them', async () => {
    const key = fernetKey.slice(0, -1); // earlier releases decoded it; Python takes its UTF-8 bytes
    const m = await startMemory(urlFor('sqlite', TEST_URLS.sqlite), { encryption: { keys: key } });
    try {
      const id = 'earlier-key';
      await m.memory.session(id).setMetadata({ made: 'raw' }); // the session row
      const earlier = conversationKey(Buffer.from(key, 'base64url'), id);
      const sealed = `{"__enc__":1,"v":1,"kid":"hkdf-v1","payload":${JSON.stringify(earlier.encrypt(Buffer.from(JSON.stringify(item('old')))))}}`;
      await insertRawRows(m, id, [sealed]);
      expect(await m.memory.session(id).getItems()).toEqual([item('old')]);
      expect(pythonReads(key, id, await storedMessageData(m, id))).toEqual([]); // Python: another key
      let cursor: string | undefined;
      do cursor = (await m.memory.reencrypt({ batchSize: 100, cursor })).nextCursor;
      while (cursor);
      expect(pythonReads(key, id, await storedMessageData(m, id))).toEqual([item('old')]);
    } finally {
      await m.close();
    }
  });
});
