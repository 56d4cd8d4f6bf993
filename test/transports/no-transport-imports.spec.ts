import { readFileSync, readdirSync } from 'fs';
import { join, relative } from 'path';

/**
 * The library recognises HTTP, WebSocket, GraphQL and microservice calls without depending on any
 * transport package: no file under lib/ imports one (they are devDependencies, for the tests only).
 */

const LIB = join(__dirname, '..', '..', 'lib');

/** The transport packages an application may use, none of which the library may load. */
const TRANSPORT_PACKAGES = [
  /^@nestjs\/websockets(\/|$)/,
  /^@nestjs\/platform-/,
  /^@nestjs\/graphql(\/|$)/,
  /^@nestjs\/apollo(\/|$)/,
  /^@nestjs\/mercurius(\/|$)/,
  /^@nestjs\/microservices(\/|$)/,
  /^@apollo\//,
  /^@as-integrations\//,
  /^graphql(-ws)?(\/|$)/,
  /^mercurius(\/|$)/,
  /^socket\.io(-client)?(\/|$)/,
  /^ws(\/|$)/,
  /^fastify(\/|$)/,
  /^@fastify\//,
  /^express(\/|$)/,
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Every module specifier of a source: import/export ... from, import(), require(), import 'x'. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]);
  return found;
}

describe('lib/ imports no transport package', () => {
  const files = sources(LIB);

  it('finds the library sources and reads their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    // the scanner itself: it sees the imports the library does have
    const all = files.flatMap((file) => specifiers(readFileSync(file, 'utf8')));
    expect(all).toEqual(expect.arrayContaining(['@nestjs/common', '@nestjs/core', 'rxjs']));
    expect(specifiers(`import x from 'ws';\nconst y = require("socket.io");\nimport 'graphql';`)).toEqual([
      'ws',
      'socket.io',
      'graphql',
    ]);
  });

  it('none of them loads @nestjs/websockets, @nestjs/graphql, socket.io, ws, fastify or the like', () => {
    const offending = files.flatMap((file) =>
      specifiers(readFileSync(file, 'utf8'))
        .filter((spec) => TRANSPORT_PACKAGES.some((pattern) => pattern.test(spec)))
        .map((spec) => `${relative(LIB, file)}: ${spec}`),
    );
    expect(offending).toEqual([]);
  });
});
