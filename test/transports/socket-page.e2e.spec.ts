import { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { existsSync, mkdtempSync } from 'fs';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AppModule } from '../../sample/src/app.module';
import { ASSISTANT_MODEL } from '../../sample/src/assistant-model.provider';
import { configureSampleApp } from '../../sample/src/platform';
import { restoreEnvAfterAll } from '../support/env';
import { LocalModel } from '../support/local-model';

/**
 * The sample's WebSocket chat page (sample/public/socket.html, ChatGateway over the ws adapter) in a
 * real browser (Debian's Chromium through playwright-core), with the sample served by Fastify: a reply
 * streamed over the socket and remembered, a second tab updated live, the HTTP chat page showing the
 * same conversation, and another caller refused.
 */

// The callbacks given to waitForFunction() run in the browser (the project's tsconfig has no DOM library).
declare const document: any;
declare const localStorage: any;

const CHROMIUM = process.env.SESSION_MEMORY_TEST_CHROMIUM || '/usr/bin/chromium';
const CALLER_KEY = 'nestjs-session-memory-sample.caller';
const TITLE = 'the sample WebSocket chat page in Chromium (Fastify, ws adapter)';
const HOW_TO_ENABLE = 'apt-get install -y chromium (.ci/run does), or point SESSION_MEMORY_TEST_CHROMIUM at a Chromium';

restoreEnvAfterAll(['SESSION_MEMORY_URL', 'OPENAI_API_KEY', 'OPENAI_MODEL', 'SAMPLE_DEMO_AUTH']);

/** What the local model answers to `text` when it has seen `n` user messages, the first being `first`. */
function replyTo(text: string, n: number, first: string): string {
  return `You said "${text}". I have seen ${n} user message${n === 1 ? '' : 's'} in this conversation; the first was "${first}".`;
}

/** The stored messages a page shows (drafts left out), as `role: text`. */
function messagesOf(page: Page): Promise<string[]> {
  return page.$$eval('#messages li:not([data-draft])', (lis) =>
    lis.map((li) => `${(li as any).dataset.role}: ${li.querySelector('.text')?.textContent}`),
  );
}

async function waitForStored(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (count) =>
      document.querySelectorAll('#messages li:not([data-draft])').length === count &&
      document.querySelector('#messages li[data-draft]') === null,
    n,
  );
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

function suite(): void {
  let app: INestApplication;
  let base: string;
  let browser: Browser;
  let ada: BrowserContext;
  const pageErrors: string[] = [];
  const id = `socket-page-${Math.random().toString(36).slice(2, 8)}`;

  async function newTab(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
    return page;
  }

  beforeAll(async () => {
    process.env.SESSION_MEMORY_URL = `sqlite:${join(mkdtempSync(join(tmpdir(), 'nsm-socket-page-')), 'c.db')}`;
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_MODEL;
    process.env.SAMPLE_DEMO_AUTH = '1';
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(ASSISTANT_MODEL)
      .useValue(new LocalModel({ streamDelayMs: 5 }))
      .compile();
    app = configureSampleApp(moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }));
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    ada = await browser.newContext();
    await ada.addInitScript(([key]) => localStorage.setItem(key, 'ada'), [CALLER_KEY]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });
  afterEach(() => expect(pageErrors).toEqual([]));

  let tabA: Page;
  let tabB: Page;

  it('a reply streamed over the socket, remembered by the next turn; a second tab updated live', async () => {
    tabA = await newTab(ada);
    await tabA.goto(`${base}/socket.html#/c/${id}`);
    expect(await tabA.textContent('#caller')).toBe('ada');
    await tabA.locator('#live[data-live="on"]').waitFor();
    tabB = await newTab(ada);
    await tabB.goto(`${base}/socket.html#/c/${id}`);
    await tabB.locator('#live[data-live="on"]').waitFor();

    await send(tabA, 'My name is Ada.');
    await waitForStored(tabA, 2);
    await send(tabA, 'What is my name?');
    await waitForStored(tabA, 4);
    const expected = [
      'user: My name is Ada.',
      `assistant: ${replyTo('My name is Ada.', 1, 'My name is Ada.')}`,
      'user: What is my name?',
      `assistant: ${replyTo('What is my name?', 2, 'My name is Ada.')}`,
    ];
    expect(await messagesOf(tabA)).toEqual(expected);
    // the other tab sent nothing, and shows the same turns, pushed by changes$()
    await waitForStored(tabB, 4);
    expect(await messagesOf(tabB)).toEqual(expected);
  });

  it('the HTTP chat page (over Fastify) shows the same conversation, and a reload of the socket page too', async () => {
    const page = await newTab(ada);
    await page.goto(`${base}/#/c/${encodeURIComponent(id)}`);
    await waitForStored(page, 4);
    expect((await messagesOf(page))[0]).toBe('user: My name is Ada.');
    await tabB.reload();
    await waitForStored(tabB, 4);
  });

  it('another caller opening the conversation is refused, and sees none of it', async () => {
    const bob = await browser.newContext();
    await bob.addInitScript(([key]) => localStorage.setItem(key, 'bob'), [CALLER_KEY]);
    const page = await newTab(bob);
    await page.goto(`${base}/socket.html#/c/${id}`);
    await page.locator('#error', { hasText: 'belongs to another caller' }).waitFor();
    expect(await messagesOf(page)).toEqual([]);
    await bob.close();
  });
}

if (existsSync(CHROMIUM)) {
  describe(TITLE, suite);
} else if (process.env.SESSION_MEMORY_REQUIRE_ALL_DIALECTS === '1') {
  describe(TITLE, () => {
    it('needs Chromium', () => {
      throw new Error(
        `SESSION_MEMORY_REQUIRE_ALL_DIALECTS=1 but there is no Chromium at ${CHROMIUM}: ${HOW_TO_ENABLE}.`,
      );
    });
  });
} else {
  describe.skip(`${TITLE} [SKIPPED: no Chromium at ${CHROMIUM}; ${HOW_TO_ENABLE}]`, suite);
}
