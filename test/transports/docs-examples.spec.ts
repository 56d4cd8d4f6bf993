import { readFileSync } from 'fs';
import { join } from 'path';

/**
 * docs/transports.md quotes the tested code: every code block announced by a
 * `<!-- tested: <path> -->` line is found, up to spacing, in that file.
 */

const ROOT = join(__dirname, '..', '..');

/** The code blocks of `markdown` that follow a `<!-- tested: path -->` line, with that path. */
export function testedBlocks(markdown: string): { path: string; code: string }[] {
  const blocks: { path: string; code: string }[] = [];
  const pattern = /<!-- tested: (\S+) -->\n```ts\n([\s\S]*?)\n```/g;
  for (const match of markdown.matchAll(pattern)) blocks.push({ path: match[1], code: match[2] });
  return blocks;
}

const squeeze = (text: string) => text.replace(/\s+/g, ' ').trim();

describe('docs/transports.md quotes the tested code', () => {
  const markdown = readFileSync(join(ROOT, 'docs', 'transports.md'), 'utf8');
  const blocks = testedBlocks(markdown);

  it('finds the quoted blocks', () => {
    expect(blocks.length).toBe((markdown.match(/<!-- tested: /g) ?? []).length);
    expect(blocks.length).toBeGreaterThanOrEqual(6);
  });

  it.each(blocks.map((block, i) => [i + 1, block.path, block] as const))('block %i is in %s', (_i, path, block) => {
    expect(squeeze(readFileSync(join(ROOT, path), 'utf8'))).toContain(squeeze(block.code));
  });

  it('the check fails for a block that is not in its file', () => {
    const [block] = testedBlocks('<!-- tested: x -->\n```ts\nconst a = 1;\n```');
    expect(block).toEqual({ path: 'x', code: 'const a = 1;' });
    expect(squeeze('const a = 2;')).not.toContain(squeeze(block.code));
  });
});
