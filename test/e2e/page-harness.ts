import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { ModelRequest, protocol } from '@openai/agents-core';
import { existsSync, mkdtempSync } from 'fs';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Page } from 'playwright-core';
import { AppModule } from '../../sample/src/app.module';
import { ASSISTANT_MODEL } from '../../sample/src/assistant-model.provider';
import { LocalModel } from '../support/local-model';

/**
 * What the browser tests of the chat page's structure and search (branches-page, search-page) share:
 * the sample app on a fresh SQLite file with a local model whose usage is known, and the page helpers.
 */

// The callbacks given to page.evaluate() and waitForFunction() run in the browser. The project's
// tsconfig has no DOM library (Node code), so its globals are declared here.
declare const document: any;

export const CHROMIUM = process.env.SESSION_MEMORY_TEST_CHROMIUM || '/usr/bin/chromium';
export const CALLER_KEY = 'nestjs-session-memory-sample.caller';
const HOW_TO_ENABLE = `apt-get install -y chromium (.ci/run does), or point SESSION_MEMORY_TEST_CHROMIUM at a Chromium`;
const ENV_KEYS = ['SESSION_MEMORY_URL', 'OPENAI_API_KEY', 'OPENAI_MODEL', 'PORT', 'SAMPLE_DEMO_AUTH'] as const;

/**
 * The local model, reporting a usage the test knows: its k-th streamed answer (from 1) used
 * 1000·k input and 10·k output tokens. Its next streamed answer can be held after its first words.
 */
export class CountingModel extends LocalModel {
  private streamed = 0;
  private hold: { afterDeltas: number; released: Promise<void> } | undefined;

  /** Holds the next streamed answer after `afterDeltas` text deltas; call the returned function to let it finish. */
  holdNextStream(afterDeltas: number): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.hold = { afterDeltas, released };
    return release;
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<protocol.StreamEvent> {
    const k = ++this.streamed;
    const hold = this.hold;
    this.hold = undefined;
    let deltas = 0;
    for await (const event of super.getStreamedResponse(request)) {
      if (event.type === 'output_text_delta') {
        if (hold && deltas === hold.afterDeltas) await hold.released;
        deltas += 1;
      }
      if (event.type === 'response_done') {
        const usage = { requests: 1, inputTokens: 1000 * k, outputTokens: 10 * k, totalTokens: 1010 * k };
        yield { ...event, response: { ...event.response, usage } };
      } else {
        yield event;
      }
    }
  }
}

/** What the local model answers to `text` when it has seen `n` user messages, the first being `first`. */
export function replyTo(text: string, n: number, first: string): string {
  return `You said "${text}". I have seen ${n} user message${n === 1 ? '' : 's'} in this conversation; the first was "${first}".`;
}

/** The sample app (demo authentication, as `npm run sample`) on a fresh SQLite file, with `model`. */
export async function startSample(
  model: LocalModel,
  prefix: string,
): Promise<{ app: INestApplication; base: string; restoreEnv: () => void }> {
  const saved: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};
  for (const key of ENV_KEYS) saved[key] = process.env[key];
  process.env.SESSION_MEMORY_URL = `sqlite:${join(mkdtempSync(join(tmpdir(), prefix)), 'conversations.db')}`;
  delete process.env.OPENAI_API_KEY;
  delete process.env.OPENAI_MODEL;
  process.env.SAMPLE_DEMO_AUTH = '1';
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(ASSISTANT_MODEL)
    .useValue(model)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  const restoreEnv = () => {
    for (const key of ENV_KEYS) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  };
  return { app, base: `http://127.0.0.1:${address.port}`, restoreEnv };
}

/** The stored messages the page shows (drafts left out), as `role: text`. */
export function messagesOf(page: Page): Promise<string[]> {
  return page.$$eval('#messages > li:not([data-draft])', (lis) =>
    lis.map(
      (li) =>
        `${(li as { dataset: Record<string, string> }).dataset.role}: ${li.querySelector(':scope > .text')?.textContent}`,
    ),
  );
}

/** Waits until the page shows exactly `n` stored messages and no draft. */
export async function waitForStored(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (count) =>
      document.querySelectorAll('#messages > li:not([data-draft])').length === count &&
      document.querySelector('#messages > li[data-draft]') === null,
    n,
  );
}

/** Types `text` into the labelled message box and presses Enter. */
export async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

/** The conversation id in the page's URL (#/c/<id>). */
export function conversationIdOf(page: Page): string {
  const hash = new URL(page.url()).hash;
  expect(hash).toMatch(/^#\/c\/./);
  return decodeURIComponent(hash.slice('#/c/'.length));
}

/** `describe(title, suite)` when Chromium is there; otherwise skipped (or failing under SESSION_MEMORY_REQUIRE_ALL_DIALECTS=1). */
export function describeInChromium(title: string, suite: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(title, suite);
  } else if (process.env.SESSION_MEMORY_REQUIRE_ALL_DIALECTS === '1') {
    describe(title, () => {
      it('needs Chromium', () => {
        throw new Error(
          `SESSION_MEMORY_REQUIRE_ALL_DIALECTS=1 but there is no Chromium at ${CHROMIUM}: ${HOW_TO_ENABLE}.`,
        );
      });
    });
  } else {
    console.warn(`\n[nestjs-session-memory] Skipping "${title}": no Chromium at ${CHROMIUM}; ${HOW_TO_ENABLE}.\n`);
    describe.skip(`${title} [SKIPPED: no Chromium at ${CHROMIUM}; ${HOW_TO_ENABLE}]`, suite);
  }
}
