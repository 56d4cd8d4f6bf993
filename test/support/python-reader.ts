import { spawnSync } from 'child_process';
import { join } from 'path';
import type { SessionItem } from '../../lib';

/** Whether python3 with the `cryptography` package is here, to read our rows as Python would. */
export const havePython = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' }).status === 0;

/** What Python's EncryptedSession reads from these rows with this key (python-encrypted-read.py). */
export function pythonReads(key: string, conversationId: string, rows: string[]): SessionItem[] {
  const run = spawnSync('python3', [join(__dirname, 'python-encrypted-read.py')], {
    input: JSON.stringify({ key, conversation_id: conversationId, rows }),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`python reader failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}
