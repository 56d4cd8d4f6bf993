import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { readFileSync } from 'fs';
import { extname, join } from 'path';
import { PublicRoute } from './auth/public-route.decorator';

/** Where the chat page's files are: plain HTML, CSS and JavaScript, no build step. */
export const PUBLIC_DIR = join(__dirname, '..', 'public');

/**
 * Serves the chat page (sample/public) at `/`. Three fixed files, so nothing else of the disk can be
 * asked for; a controller rather than a static-files middleware so that any way of creating the
 * application (main.ts, a test's `createNestApplication()`) serves it. Public: the page needs no caller
 * (in demo mode it makes one up and sends it with each API request).
 */
@PublicRoute()
@Controller()
export class PageController {
  /** The page. */
  @Get()
  index(@Res() response: Response): void {
    send(response, 'index.html');
  }

  /** Its script. */
  @Get('app.js')
  script(@Res() response: Response): void {
    send(response, 'app.js');
  }

  /** Its style sheet. */
  @Get('style.css')
  style(@Res() response: Response): void {
    send(response, 'style.css');
  }

  // ---- edits, versions, turns and tokens; the search box (sample/public/structure.js, search.js)
  /** Versions of a message, the turn list, tokens. */
  @Get('structure.js')
  structureScript(@Res() response: Response): void {
    send(response, 'structure.js');
  }

  /** The search box. */
  @Get('search.js')
  searchScript(@Res() response: Response): void {
    send(response, 'search.js');
  }

  /** The WebSocket version of the chat (sample/src/socket/chat.gateway.ts). */
  @Get('socket.html')
  socketPage(@Res() response: Response): void {
    send(response, 'socket.html');
  }

  /** Its script. */
  @Get('socket.js')
  socketScript(@Res() response: Response): void {
    send(response, 'socket.js');
  }
}

const HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  // Only this origin's script, style and WebSocket; the icon is a data: URL.
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'",
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function send(response: Response, file: string): void {
  if (typeof response.sendFile === 'function') {
    response.sendFile(join(PUBLIC_DIR, file), { headers: HEADERS });
    return;
  }
  // Fastify (SAMPLE_PLATFORM=fastify): its reply has no sendFile; the files are small.
  const reply = response as unknown as { headers(h: object): { type(t: string): { send(b: Buffer): void } } };
  reply
    .headers(HEADERS)
    .type(TYPES[extname(file)])
    .send(readFileSync(join(PUBLIC_DIR, file)));
}
