import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { ModelRequest, protocol } from '@openai/agents-core';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'fs';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SessionMemoryService } from '../../lib';
import { AppModule } from '../../sample/src/app.module';
import { ASSISTANT_MODEL } from '../../sample/src/assistant-model.provider';
import { LocalModel } from '../support/local-model';

/**
 * The sample's chat page (sample/public) in a real browser: Debian's Chromium, driven by
 * playwright-core (no browser download), against the sample app on an SQLite file. What a user sees:
 * a conversation that remembers, a reply that grows while the model streams it, the history after a
 * reload and after a server restart, a second tab updated live, another caller seeing nothing, paging
 * back through a long history, deleting. Also writes the README's screenshot (sample/docs/chat.png).
 */

// The callbacks given to page.evaluate() and waitForFunction() run in the browser. The project's
// tsconfig has no DOM library (Node code), so its globals are declared here, for this file only.
declare const document: any;
declare const window: any;
declare const localStorage: any;
declare function getComputedStyle(element: unknown): any;

const CHROMIUM = process.env.SESSION_MEMORY_TEST_CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT = join(__dirname, '..', '..', 'sample', 'docs', 'chat.png');
const CALLER_KEY = 'nestjs-session-memory-sample.caller';
const TITLE = 'the chat page in a real browser (Chromium)';
const HOW_TO_ENABLE = `apt-get install -y chromium (.ci/run does), or point SESSION_MEMORY_TEST_CHROMIUM at a Chromium`;

const ENV_KEYS = ['SESSION_MEMORY_URL', 'OPENAI_API_KEY', 'OPENAI_MODEL', 'PORT', 'SAMPLE_DEMO_AUTH'] as const;

/** The local model, whose next streamed answer can be held after its first words until the test lets it go on. */
class HoldableLocalModel extends LocalModel {
  private hold: { afterDeltas: number; released: Promise<void> } | undefined;

  /** Holds the next streamed answer after `afterDeltas` text deltas; call the returned function to let it finish. */
  holdNextStream(afterDeltas: number): () => void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.hold = { afterDeltas, released };
    return release;
  }

  async *getStreamedResponse(request: ModelRequest): AsyncIterable<protocol.StreamEvent> {
    const hold = this.hold;
    this.hold = undefined;
    let deltas = 0;
    for await (const event of super.getStreamedResponse(request)) {
      if (event.type === 'output_text_delta') {
        if (hold && deltas === hold.afterDeltas) await hold.released;
        deltas += 1;
      }
      yield event;
    }
  }
}

/** What the local model answers to `text` when it has seen `n` user messages, the first being `first`. */
function replyTo(text: string, n: number, first: string): string {
  return `You said "${text}". I have seen ${n} user message${n === 1 ? '' : 's'} in this conversation; the first was "${first}".`;
}

async function startSample(
  databaseUrl: string,
  model: LocalModel,
  port = 0,
  demoAuth = true,
): Promise<{ app: INestApplication; base: string }> {
  process.env.SESSION_MEMORY_URL = databaseUrl;
  delete process.env.OPENAI_API_KEY;
  delete process.env.OPENAI_MODEL;
  // As npm run sample: demo mode, the page's made-up caller id is taken at its word.
  if (demoAuth) process.env.SAMPLE_DEMO_AUTH = '1';
  else delete process.env.SAMPLE_DEMO_AUTH;
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(ASSISTANT_MODEL)
    .useValue(model)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(port, '127.0.0.1');
  const address = app.getHttpServer().address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${address.port}` };
}

/** The stored messages the page shows (drafts left out), as `role: text`. */
function messagesOf(page: Page): Promise<string[]> {
  return page.$$eval('#messages li:not([data-draft])', (lis) =>
    lis.map(
      (li) => `${(li as { dataset: Record<string, string> }).dataset.role}: ${li.querySelector('.text')?.textContent}`,
    ),
  );
}

/** Waits until the page shows exactly `n` stored messages and no draft. */
async function waitForStored(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (count) =>
      document.querySelectorAll('#messages li:not([data-draft])').length === count &&
      document.querySelector('#messages li[data-draft]') === null,
    n,
  );
}

/** Types `text` into the labelled message box and presses Enter. */
async function send(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

function listTitles(page: Page): Promise<string[]> {
  return page.$$eval('#conversations a', (links) => links.map((a) => a.textContent ?? ''));
}

/** The conversation id in the page's URL (#/c/<id>). */
function conversationIdOf(page: Page): string {
  const hash = new URL(page.url()).hash;
  expect(hash).toMatch(/^#\/c\/./);
  return decodeURIComponent(hash.slice('#/c/'.length));
}

function suite(): void {
  const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};
  let url: string;
  let app: INestApplication;
  let base: string;
  let model: HoldableLocalModel;
  let browser: Browser;
  let ada: BrowserContext;
  let tabA: Page;
  let tabB: Page;
  let conversationId: string;
  let longId: string;
  const pageErrors: string[] = [];

  /** A tab of `context` that records uncaught script errors (each test ends by checking there were none). */
  async function newTab(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
    return page;
  }

  beforeAll(async () => {
    for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
    url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'nsm-chat-page-')), 'conversations.db')}`;
    model = new HoldableLocalModel();
    ({ app, base } = await startSample(url, model));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    // Ada's browser: her caller id is in local storage, as the page would have kept it.
    ada = await browser.newContext({ viewport: { width: 1000, height: 720 }, colorScheme: 'light' });
    await ada.addInitScript(([key]) => localStorage.setItem(key, 'ada'), [CALLER_KEY]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    for (const key of ENV_KEYS) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
  });
  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('remembers: the second reply mentions the first message; the conversation is listed under it', async () => {
    tabA = await newTab(ada);
    await tabA.goto(base);
    expect(await tabA.textContent('#caller')).toBe('ada');
    await tabA.locator('#no-conversations').waitFor({ state: 'visible' });

    await send(tabA, 'My name is Ada.');
    await waitForStored(tabA, 2);
    await send(tabA, 'What is my name?');
    await waitForStored(tabA, 4);

    expect(await messagesOf(tabA)).toEqual([
      'user: My name is Ada.',
      `assistant: ${replyTo('My name is Ada.', 1, 'My name is Ada.')}`,
      'user: What is my name?',
      `assistant: ${replyTo('What is my name?', 2, 'My name is Ada.')}`,
    ]);
    // Both turns went through the streamed run, and the second one was sent the first.
    expect(model.calls.map((c) => c.streamed)).toEqual([true, true]);
    expect(model.calls[1].input).toHaveLength(3);

    conversationId = conversationIdOf(tabA);
    await tabA.waitForFunction(() => document.querySelectorAll('#conversations a').length === 1);
    expect(await listTitles(tabA)).toEqual(['My name is Ada.']);
    expect(await tabA.getAttribute('#conversations a', 'aria-current')).toBe('page');
    expect(await tabA.textContent('#conversation-title')).toBe('My name is Ada.');
    // Enter sent the message; the focus stayed in the message box, which is empty again.
    expect(await tabA.evaluate(() => document.activeElement?.id)).toBe('message');
    expect(await tabA.inputValue('#message')).toBe('');
  });

  it('Shift+Enter starts a new line instead of sending', async () => {
    const box = tabA.getByLabel('Message', { exact: true });
    await box.fill('first line');
    await box.press('Shift+Enter');
    await box.pressSequentially('second line');
    expect(await box.inputValue()).toBe('first line\nsecond line');
    expect(await tabA.locator('#messages li').count()).toBe(4);
    await box.fill('');
  });

  it('a second tab on the same conversation shows the new items live, without reloading', async () => {
    tabB = await newTab(ada);
    await tabB.goto(tabA.url());
    await tabB.locator('#live[data-live="on"]').waitFor();
    expect(await messagesOf(tabB)).toEqual(await messagesOf(tabA));
    await tabB.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    await send(tabA, 'I am writing from the first tab.');
    await waitForStored(tabB, 6);
    expect((await messagesOf(tabB)).slice(4)).toEqual([
      'user: I am writing from the first tab.',
      `assistant: ${replyTo('I am writing from the first tab.', 3, 'My name is Ada.')}`,
    ]);
    expect(await tabB.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await waitForStored(tabA, 6);
    expect(await messagesOf(tabA)).toEqual(await messagesOf(tabB));
  });

  it('streaming: the reply shows its first words while the model is still producing it', async () => {
    const release = model.holdNextStream(3);
    try {
      await send(tabA, 'Stream this, please.');
      const streaming = tabA.locator('#messages li[data-streaming="true"]');
      // The model has produced three words and is held: the page shows exactly those.
      await tabA.waitForFunction(
        () => document.querySelector('#messages li[data-streaming="true"] .text')?.textContent === 'You said "Stream ',
      );
      expect(await streaming.getAttribute('aria-busy')).toBe('true');
      expect(await tabA.textContent('#status')).toBe('The assistant is answering…');
      // The reply is not stored yet: the second tab has no assistant item for it.
      expect(await messagesOf(tabB)).not.toContain(
        `assistant: ${replyTo('Stream this, please.', 4, 'My name is Ada.')}`,
      );
    } finally {
      release();
    }
    await waitForStored(tabA, 8);
    expect((await messagesOf(tabA)).slice(-1)).toEqual([
      `assistant: ${replyTo('Stream this, please.', 4, 'My name is Ada.')}`,
    ]);
    expect(await tabA.locator('#messages li[aria-busy="true"]').count()).toBe(0);
    await waitForStored(tabB, 8);
  });

  it('a reload shows the whole history again', async () => {
    const before = await messagesOf(tabA);
    expect(before).toHaveLength(8);
    await tabA.reload();
    await tabA.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tabA, 8);
    expect(await messagesOf(tabA)).toEqual(before);
    expect(await tabA.textContent('#conversation-title')).toBe('My name is Ada.');
    expect(await listTitles(tabA)).toEqual(['My name is Ada.']);
  });

  it('the server restarted on the same SQLite file: the history is there, and the conversation goes on', async () => {
    const before = await messagesOf(tabA);
    const port = Number(new URL(base).port);
    await app.close();
    // The second tab notices that the server went away...
    await tabB.locator('#live[data-live="connecting"]').waitFor();
    model = new HoldableLocalModel();
    ({ app, base } = await startSample(url, model, port));

    await tabA.reload();
    await waitForStored(tabA, 8);
    expect(await messagesOf(tabA)).toEqual(before);
    // ... and reconnects by itself, without a reload.
    await tabB.locator('#live[data-live="on"]').waitFor();
    await tabA.locator('#live[data-live="on"]').waitFor();

    await send(tabA, 'Are you still there after the restart?');
    await waitForStored(tabA, 10);
    const reply = `assistant: ${replyTo('Are you still there after the restart?', 5, 'My name is Ada.')}`;
    expect((await messagesOf(tabA)).slice(-1)).toEqual([reply]);
    expect(model.calls[0].input).toHaveLength(9); // the whole stored history reached the new process's model
    await waitForStored(tabB, 10);
    expect((await messagesOf(tabB)).slice(-1)).toEqual([reply]);
  });

  it("a second caller sees none of the first caller's conversations, and cannot open one by its URL", async () => {
    const bob = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    try {
      const page = await newTab(bob);
      await page.goto(base);
      const caller = await page.textContent('#caller');
      expect(caller).toMatch(/^caller-[0-9a-f]{8}$/); // made up by the page, kept in its local storage
      expect(await page.evaluate((key) => localStorage.getItem(key), CALLER_KEY)).toBe(caller);
      await page.locator('#no-conversations').waitFor({ state: 'visible' });
      expect(await listTitles(page)).toEqual([]);

      const direct = await newTab(bob);
      await direct.goto(`${base}/#/c/${encodeURIComponent(conversationId)}`);
      await direct.locator('#error').getByText('This conversation belongs to another caller.').waitFor();
      expect(await direct.locator('#messages li').count()).toBe(0);

      // The second caller's own conversation is listed for them, and not for Ada.
      await send(page, 'Hello, I am Bob.');
      await waitForStored(page, 2);
      await page.waitForFunction(() => document.querySelectorAll('#conversations a').length === 1);
      expect(await listTitles(page)).toEqual(['Hello, I am Bob.']);
      await tabA.reload();
      await tabA.locator('#live[data-live="on"]').waitFor();
      expect(await listTitles(tabA)).toEqual(['My name is Ada.']);
    } finally {
      await bob.close();
    }
  });

  it('"Load older messages" pages back through a long history, 20 items at a time, from the keyboard', async () => {
    // SQLite keeps updated_at to the second: be a second later than the other conversation, so that
    // "newest first" is decided by time and not by a tie.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    longId = 'a-long-conversation';
    const session = app.get(SessionMemoryService).session(longId, { owner: 'ada' });
    await session.setMetadata({ title: 'A long conversation' });
    const texts = Array.from({ length: 45 }, (_, i) => `Item ${i + 1}`);
    await session.addItems(
      texts.map((text, i) =>
        i % 2 === 0
          ? { role: 'user', content: text }
          : {
              type: 'message',
              role: 'assistant',
              status: 'completed',
              content: [{ type: 'output_text', text }],
            },
      ),
    );
    const expected = texts.map((text, i) => `${i % 2 === 0 ? 'user' : 'assistant'}: ${text}`);

    await tabA.reload();
    await tabA.waitForFunction(() => document.querySelectorAll('#conversations a').length === 2);
    expect(await listTitles(tabA)).toEqual(['A long conversation', 'My name is Ada.']); // newest first
    await tabA.getByRole('link', { name: 'A long conversation' }).click();
    await tabA.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tabA, 20);
    expect(await messagesOf(tabA)).toEqual(expected.slice(25));
    // Choosing a conversation moves the focus to its heading.
    expect(await tabA.evaluate(() => document.activeElement?.id)).toBe('conversation-title');

    const older = tabA.getByRole('button', { name: 'Load older messages' });
    await older.focus();
    await tabA.keyboard.press('Enter');
    await waitForStored(tabA, 40);
    expect(await messagesOf(tabA)).toEqual(expected.slice(5));
    expect(await tabA.evaluate(() => document.activeElement?.id)).toBe('load-older');

    await tabA.keyboard.press('Enter');
    await waitForStored(tabA, 45);
    expect(await messagesOf(tabA)).toEqual(expected);
    expect(await older.isHidden()).toBe(true);
    // The button is gone; the focus went to the oldest message instead of being lost.
    expect(await tabA.evaluate(() => document.activeElement?.textContent)).toBe('YouItem 1');
  });

  it('takes the screenshot for the README, and fits a phone screen', async () => {
    await tabA.goto(`${base}/#/c/${encodeURIComponent(conversationId)}`);
    await tabA.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tabA, 10);
    await tabA.locator('#message').fill('');
    await tabA.locator('#message').blur();
    await tabA.mouse.move(999, 719); // no hover highlight in the picture
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await tabA.screenshot({ path: SCREENSHOT });
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1000, 720]);

    await tabA.setViewportSize({ width: 375, height: 740 });
    const fit = await tabA.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      send: document.getElementById('send')!.getBoundingClientRect().right,
      box: document.getElementById('message')!.getBoundingClientRect().width,
      text: parseFloat(getComputedStyle(document.querySelector('.message .text')!).fontSize),
    }));
    expect(fit.overflow).toBeLessThanOrEqual(0); // no sideways scrolling
    expect(fit.send).toBeLessThanOrEqual(375); // the Send button is on screen
    expect(fit.box).toBeGreaterThan(200);
    expect(fit.text).toBeGreaterThanOrEqual(16);
    await tabA.setViewportSize({ width: 1000, height: 720 });
  });

  it('deleting a conversation removes it from the list, the page and the second tab', async () => {
    await tabA.goto(`${base}/#/c/${encodeURIComponent(longId)}`);
    await tabB.goto(`${base}/#/c/${encodeURIComponent(longId)}`);
    await tabA.locator('#live[data-live="on"]').waitFor();
    await tabB.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tabB, 20);

    tabA.once('dialog', (dialog) => void dialog.accept());
    await tabA.getByRole('button', { name: 'Delete conversation' }).click();
    await tabA.locator('#status').getByText('Conversation deleted.').waitFor();
    // A list refresh another event scheduled earlier may still land: wait for the list to settle.
    await tabA.waitForFunction(
      () =>
        [...document.querySelectorAll('#conversations a')].map((a) => a.textContent).join('|') === 'My name is Ada.',
    );
    expect(await listTitles(tabA)).toEqual(['My name is Ada.']);
    expect(await tabA.textContent('#conversation-title')).toBe('New conversation');
    expect(await tabA.locator('#messages li').count()).toBe(0);
    expect(await tabA.evaluate(() => document.activeElement?.id)).toBe('new-conversation');

    await tabB.locator('#status').getByText('This conversation was deleted or cleared.').waitFor();
    await waitForStored(tabB, 0);
    await tabB.reload();
    await tabB.locator('#live[data-live="on"]').waitFor();
    expect(await tabB.locator('#messages li').count()).toBe(0);
    expect(await app.get(SessionMemoryService).session(longId).getItems()).toEqual([]);
  });

  it("without demo mode the page shows nobody's conversations, and says how to plug authentication", async () => {
    const other = await startSample('sqlite::memory:', new HoldableLocalModel(), 0, false);
    // A browser context of its own, closed (with every connection it keeps alive) before the server:
    // the server's close waits for its connections, and a failed step must show its own error.
    const visitor = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    try {
      const page = await newTab(visitor);
      await page.goto(other.base);
      await page
        .locator('#error')
        .getByText(/no authentication configured/)
        .waitFor();
      expect(await page.textContent('#error')).toMatch(/CallerAuthenticator.*SAMPLE_DEMO_AUTH=1/);
      expect(await listTitles(page)).toEqual([]);
    } finally {
      await visitor.close();
      await other.app.close();
    }
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
  console.warn(
    `\n[nestjs-session-memory] Skipping the chat page's browser tests: no Chromium at ${CHROMIUM}; ${HOW_TO_ENABLE}.\n`,
  );
  describe.skip(`${TITLE} [SKIPPED: no Chromium at ${CHROMIUM}; ${HOW_TO_ENABLE}]`, suite);
}
