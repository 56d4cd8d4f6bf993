import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { brokenLinks, githubAnchor, headingAnchors, linkTargets } from './markdown-links';

/**
 * Every relative link and #anchor in the README and the docs resolves, so that moving a section never
 * leaves a dead link behind. Anchors follow GitHub's rules (lowercase, punctuation dropped, spaces to '-').
 */
describe('documentation links', () => {
  const root = resolve(__dirname, '../..');
  const files = [
    'README.md',
    'sample/README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ];

  it('README.md, sample/README.md and docs/*.md have no broken relative link or anchor', () => {
    expect(files).toContain('docs/README.md');
    expect(brokenLinks(root, files)).toEqual([]);
  });

  it('the README starts with the two set-up commands', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const commands = readme.split('\n').slice(2, 6).join('\n');
    expect(commands).toContain('npm ci && npm run sample');
    expect(commands).toContain('npm ci && npm test');
  });

  describe('the checker itself', () => {
    it("computes GitHub's anchors", () => {
      expect(githubAnchor('What the model sees: `windowHistory`')).toBe('what-the-model-sees-windowhistory');
      expect(githubAnchor('3. One database shared with Python agents')).toBe(
        '3-one-database-shared-with-python-agents',
      );
      expect(githubAnchor("Tables created by Python's `SQLAlchemySession`")).toBe(
        'tables-created-by-pythons-sqlalchemysession',
      );
      expect(githubAnchor('Live changes (`changes$`)')).toBe('live-changes-changes');
      expect(githubAnchor('Trust at the edges (issue #20): each case before and after')).toBe(
        'trust-at-the-edges-issue-20-each-case-before-and-after',
      );
      expect(githubAnchor('A [linked](x.md) heading — done')).toBe('a-linked-heading--done');
    });

    it('numbers repeated headings and ignores headings inside code fences', () => {
      const anchors = headingAnchors('# Notes\n\n## Notes\n\n```bash\n# not a heading\n```\n');
      expect([...anchors]).toEqual(['notes', 'notes-1']);
    });

    it('finds inline links and reference definitions, not code spans or fenced code', () => {
      const targets = linkTargets(
        '[a](x.md#one) `[b](y.md)` ![c](img.png "t")\n\n[d]: z.md\n\n```md\n[e](w.md)\n```\n',
      );
      expect(targets.map((t) => t.target)).toEqual(['x.md#one', 'img.png', 'z.md']);
    });

    it('reports a missing file, a missing anchor and a missing same-page anchor', () => {
      const dir = mkdtempSync(join(tmpdir(), 'links-'));
      try {
        mkdirSync(join(dir, 'docs'));
        writeFileSync(join(dir, 'docs', 'page.md'), '# Page\n\n## Real section\n');
        writeFileSync(
          join(dir, 'README.md'),
          [
            '# Top',
            '[ok](docs/page.md#real-section) [ok](#top) [ok](docs/) [web](https://example.com/#x)',
            '[gone](docs/missing.md)',
            '[bad anchor](docs/page.md#unreal-section)',
            '[bad here](#nowhere)',
          ].join('\n'),
        );
        expect(brokenLinks(dir, ['README.md']).map((b) => [b.line, b.target])).toEqual([
          [3, 'docs/missing.md'],
          [4, 'docs/page.md#unreal-section'],
          [5, '#nowhere'],
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
