import { existsSync, readFileSync, statSync } from 'fs';
import { dirname, resolve } from 'path';

/** A relative link or `#anchor` in a Markdown file that does not resolve. */
export interface BrokenLink {
  file: string;
  line: number;
  target: string;
  reason: string;
}

/**
 * The anchor GitHub gives a heading: lowercase, inline markup and punctuation dropped (letters,
 * digits, spaces, `-` and `_` kept), each space turned into `-`. Duplicates get `-1`, `-2`, … (see
 * {@link headingAnchors}).
 */
export function githubAnchor(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // [text](url) -> text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
}

/** The lines of a Markdown text outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): Array<{ text: string; line: number }> {
  const out: Array<{ text: string; line: number }> = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const opening = /^\s*(```+|~~~+)/.exec(text);
    if (fence === undefined && opening) {
      fence = opening[1];
      return;
    }
    if (fence !== undefined) {
      if (text.trim().startsWith(fence)) fence = undefined;
      return;
    }
    out.push({ text, line: index + 1 });
  });
  return out;
}

/** Every anchor a Markdown text defines: its headings' GitHub anchors and explicit `id` / `name` attributes. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (heading) {
      const base = githubAnchor(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  }
  return anchors;
}

/** The link targets of a Markdown text (inline links, images, reference definitions), code spans left out. */
export function linkTargets(markdown: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  for (const { text, line } of proseLines(markdown)) {
    const prose = text.replace(/`[^`]*`/g, '``');
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      out.push({ target: match[1], line });
    const definition = /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+.*)?$/.exec(prose);
    if (definition) out.push({ target: definition[1], line });
  }
  return out;
}

/**
 * The relative links and anchors of `files` (paths relative to `root`) that do not resolve: a path
 * that does not exist, or an `#anchor` that no heading of the target Markdown file defines.
 * Links with a scheme (`https:`, `mailto:`) are not checked.
 */
export function brokenLinks(root: string, files: string[]): BrokenLink[] {
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (path: string): Set<string> => {
    let found = anchorsOf.get(path);
    if (!found) {
      found = headingAnchors(readFileSync(path, 'utf8'));
      anchorsOf.set(path, found);
    }
    return found;
  };
  const broken: BrokenLink[] = [];
  for (const file of files) {
    const source = resolve(root, file);
    for (const { target, line } of linkTargets(readFileSync(source, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const hash = target.indexOf('#');
      const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const destination = pathPart === '' ? source : resolve(dirname(source), pathPart);
      if (!existsSync(destination)) {
        broken.push({ file, line, target, reason: 'no such file' });
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (statSync(destination).isDirectory() || !destination.endsWith('.md')) {
        broken.push({ file, line, target, reason: 'an anchor into a file that is not Markdown' });
      } else if (!anchors(destination).has(anchor)) {
        broken.push({ file, line, target, reason: `no heading gives #${anchor}` });
      }
    }
  }
  return broken;
}
