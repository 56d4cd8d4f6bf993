import { INestApplication } from '@nestjs/common';
import { mkdirSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SessionMemoryService } from '../../lib';
import {
  CALLER_KEY,
  CHROMIUM,
  CountingModel,
  conversationIdOf,
  describeInChromium,
  messagesOf,
  replyTo,
  send,
  startSample,
  waitForStored,
} from './page-harness';

/**
 * The chat page's conversation structure in a real browser (Chromium, playwright-core), against the
 * sample app on an SQLite file: edit an earlier message (a new branch from that turn, the reply
 * streamed), `< 1 / 2 >` / `< 2 / 2 >` switching between the versions and surviving a reload and
 * another tab, the turn list jumping to a turn (paging back when needed), the tokens of each reply and
 * of the conversation. Writes the READMEs' screenshot of it (sample/docs/branches.png).
 */

declare const document: any;
declare const localStorage: any;

const SCREENSHOT = join(__dirname, '..', '..', 'sample', 'docs', 'branches.png');
const FIRST = 'My name is Ada.';

/** The `< i / n >` text shown at user message `turn`, or null when it has none. */
function versionsAt(page: Page, turn: number): Promise<string | null> {
  return page.evaluate(
    (t) => document.querySelector(`#messages > li[data-turn="${t}"] .version-count`)?.textContent ?? null,
    turn,
  );
}

/** The token lines under the replies, oldest first. */
function tokenLines(page: Page): Promise<string[]> {
  return page.$$eval('#messages > li .tokens', (ps) => ps.map((p) => p.textContent ?? ''));
}

describeInChromium('the chat page: edit a message, its versions, the turn list, tokens (Chromium)', () => {
  let app: INestApplication;
  let base: string;
  let restoreEnv: () => void;
  let model: CountingModel;
  let browser: Browser;
  let ada: BrowserContext;
  let tab: Page;
  let conversationId: string;
  const pageErrors: string[] = [];

  async function newTab(): Promise<Page> {
    const page = await ada.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
    return page;
  }

  /** Waits until the user message of `turn` shows `text` as its versions (`'2 / 2'`), or none (null). */
  async function waitForVersions(page: Page, turn: number, text: string | null): Promise<void> {
    await page.waitForFunction(
      ([t, expected]) =>
        (document.querySelector(`#messages > li[data-turn="${t}"] .version-count`)?.textContent ?? null) === expected &&
        document.querySelector(`#messages > li[data-turn="${t}"] .message-tools`) !== null,
      [turn, text] as const,
    );
  }

  beforeAll(async () => {
    model = new CountingModel();
    ({ app, base, restoreEnv } = await startSample(model, 'nsm-branches-page-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    ada = await browser.newContext({ viewport: { width: 1000, height: 720 }, colorScheme: 'light' });
    await ada.addInitScript(([key]) => localStorage.setItem(key, 'ada'), [CALLER_KEY]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    restoreEnv?.();
  });
  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it("three turns; each of the user's messages can be edited, none has versions yet", async () => {
    tab = await newTab();
    await tab.goto(base);
    await send(tab, FIRST);
    await waitForStored(tab, 2);
    await send(tab, 'I like tea.');
    await waitForStored(tab, 4);
    await send(tab, 'What do I like?');
    await waitForStored(tab, 6);
    conversationId = conversationIdOf(tab);

    await tab.waitForFunction(() => document.querySelectorAll('#messages > li .message-tools').length === 3);
    expect(await tab.locator('#messages .versions').count()).toBe(0);
    expect(await tab.getByRole('button', { name: /^Edit message \d$/ }).count()).toBe(3);
    // The button's label is drawn by CSS: a message's text content stays its own.
    expect(await tab.evaluate(() => document.querySelector('#messages > li[data-turn="1"]').textContent)).toBe(
      `You${FIRST}`,
    );
  });

  it('editing an earlier message makes a new version from that turn, whose reply streams', async () => {
    await tab.getByRole('button', { name: 'Edit message 2' }).click();
    const box = tab.getByLabel('Edit your message');
    expect(await box.inputValue()).toBe('I like tea.');
    expect(await tab.evaluate(() => document.activeElement?.id)).toBe('edit-2');
    await box.fill('I like coffee.');

    const release = model.holdNextStream(3);
    try {
      await box.press('Enter');
      // The history after the edited message is gone from the page, and the reply grows word by word.
      await tab.waitForFunction(
        () => document.querySelector('#messages li[data-streaming="true"] .text')?.textContent === 'You said "I ',
      );
      expect(await messagesOf(tab)).toEqual([`user: ${FIRST}`, `assistant: ${replyTo(FIRST, 1, FIRST)}`]);
      expect(await tab.textContent('#messages li[data-draft]:not([data-streaming]) .text')).toBe('I like coffee.');
    } finally {
      release();
    }
    await waitForStored(tab, 4);
    expect(await messagesOf(tab)).toEqual([
      `user: ${FIRST}`,
      `assistant: ${replyTo(FIRST, 1, FIRST)}`,
      'user: I like coffee.',
      // The model was sent the history before the edited turn, and the new text.
      `assistant: ${replyTo('I like coffee.', 2, FIRST)}`,
    ]);
    expect(model.calls.at(-1)!.input).toHaveLength(3);

    await waitForVersions(tab, 2, '2 / 2');
    expect(await versionsAt(tab, 1)).toBeNull();
    expect(await tab.getByRole('group', { name: 'Version 2 of 2 of message 2' }).isVisible()).toBe(true);

    // Stored: the conversation's current branch is the new one, created from turn 2.
    const session = app.get(SessionMemoryService).session(conversationId, { owner: 'ada' });
    const branches = await session.listBranches();
    const current = branches.find((b) => b.isCurrent)!;
    expect(current).toMatchObject({ parentBranchId: 'main', fromTurn: 2, userTurns: 2 });
  });

  it('< 1 / 2 > and < 2 / 2 > switch between the versions, from the keyboard; a reload shows the same one', async () => {
    const previous = tab.getByRole('button', { name: 'Previous version' });
    await previous.focus();
    await tab.keyboard.press('Enter');
    await waitForStored(tab, 6);
    await waitForVersions(tab, 2, '1 / 2');
    expect((await messagesOf(tab)).slice(2)).toEqual([
      'user: I like tea.',
      `assistant: ${replyTo('I like tea.', 2, FIRST)}`,
      'user: What do I like?',
      `assistant: ${replyTo('What do I like?', 3, FIRST)}`,
    ]);
    // The focus came back to the control, so Enter again goes on switching.
    expect(await tab.evaluate(() => document.activeElement?.dataset.control)).toBe('previous');
    expect(await tab.locator('#status').textContent()).toBe('Showing version 1 of 2.');
    expect(await app.get(SessionMemoryService).session(conversationId).getCurrentBranch()).toBe('main');

    await tab.reload();
    await tab.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tab, 6);
    await waitForVersions(tab, 2, '1 / 2');
    expect((await messagesOf(tab))[2]).toBe('user: I like tea.');

    await tab.getByRole('button', { name: 'Next version' }).click();
    await waitForStored(tab, 4);
    await waitForVersions(tab, 2, '2 / 2');
    expect((await messagesOf(tab))[2]).toBe('user: I like coffee.');
    await tab.reload();
    await tab.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tab, 4);
    await waitForVersions(tab, 2, '2 / 2');
    expect(await messagesOf(tab)).toEqual([
      `user: ${FIRST}`,
      `assistant: ${replyTo(FIRST, 1, FIRST)}`,
      'user: I like coffee.',
      `assistant: ${replyTo('I like coffee.', 2, FIRST)}`,
    ]);
    // "Next" is at the end: it does nothing.
    expect(await tab.getByRole('button', { name: 'Next version' }).getAttribute('aria-disabled')).toBe('true');
  });

  it('a second tab follows a switch made in the first, and a message sent on a version continues it', async () => {
    const second = await newTab();
    await second.goto(tab.url());
    await second.locator('#live[data-live="on"]').waitFor();
    await waitForVersions(second, 2, '2 / 2');

    await send(tab, 'And my name?');
    await waitForStored(tab, 6);
    expect((await messagesOf(tab)).slice(-1)).toEqual([`assistant: ${replyTo('And my name?', 3, FIRST)}`]);
    await waitForStored(second, 6);
    await waitForVersions(tab, 2, '2 / 2');

    await tab.bringToFront(); // a tab in the background has its animation frames throttled (slow clicks)
    await tab.getByRole('button', { name: 'Previous version' }).click();
    await waitForVersions(tab, 2, '1 / 2');
    // The second tab learns of it with its next change and shows the version now current.
    await send(tab, 'Back on the first version.');
    await waitForStored(tab, 8);
    await second.waitForFunction(
      () => document.querySelector('#messages > li[data-turn="2"] .text')?.textContent === 'I like tea.',
    );
    await waitForStored(second, 8);
    expect(await messagesOf(second)).toEqual(await messagesOf(tab));
    await second.close();
  });

  it('the turn list jumps to a turn, loading older pages when it is not on the page', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // newest first by time, not by a tie
    const session = app.get(SessionMemoryService).session('long-turns', { owner: 'ada' });
    await session.setMetadata({ title: 'Twenty-five turns' });
    await session.addItems(
      Array.from({ length: 25 }, (_, i) => [
        { role: 'user' as const, content: `Question ${i + 1}` },
        {
          type: 'message' as const,
          role: 'assistant' as const,
          status: 'completed' as const,
          content: [{ type: 'output_text' as const, text: `Answer ${i + 1}` }],
        },
      ]).flat(),
    );
    await tab.goto(`${base}/#/c/long-turns`);
    await tab.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tab, 20);
    await tab.locator('#turns summary').click();
    await tab.waitForFunction(() => document.querySelectorAll('#turn-list a').length === 25);
    expect(await tab.$$eval('#turn-list a', (as) => as.map((a) => a.textContent).slice(0, 3))).toEqual([
      'Question 1',
      'Question 2',
      'Question 3',
    ]);
    // Turn 16 is on the page (the newest 20 items are turns 16 to 25).
    await tab.getByRole('link', { name: 'Question 16', exact: true }).click();
    await tab.waitForFunction(
      () => document.activeElement?.querySelector(':scope > .text')?.textContent === 'Question 16',
    );
    await waitForStored(tab, 20);
    // Turn 2 is two pages back.
    await tab.getByRole('link', { name: 'Question 2', exact: true }).click();
    await tab.waitForFunction(
      () => document.activeElement?.querySelector(':scope > .text')?.textContent === 'Question 2',
    );
    expect(await tab.locator('#messages > li:not([data-draft])').count()).toBe(50);
    expect(await tab.textContent('#status')).toBe('Turn 2.');
    // The messages loaded meanwhile are decorated too: the focused one is turn 2's.
    await tab.waitForFunction(() => document.activeElement?.dataset.turn === '2');
  });

  it('shows the tokens each reply used, on every version, and the conversation total', async () => {
    // A conversation written without a model run has no usage: no token line, a total of 0.
    await tab.waitForFunction(() => document.querySelector('#usage')?.textContent === 'This conversation: 0 tokens');
    expect(await tab.locator('#messages .tokens').count()).toBe(0);

    // The model's k-th answer reported 1000k input and 10k output tokens. Main (version 1 of turn 2)
    // holds answers 1, 2, 3 and 6; the edit (version 2) answers 4 and 5 after turn 1 (answer 1).
    await tab.goto(`${base}/#/c/${encodeURIComponent(conversationId)}`);
    await tab.locator('#live[data-live="on"]').waitFor();
    await waitForStored(tab, 8);
    await waitForVersions(tab, 2, '1 / 2');
    await tab.waitForFunction(() => document.querySelectorAll('#messages > li .tokens').length === 4);
    expect(await tokenLines(tab)).toEqual([
      '1,010 tokens (1,000 in, 10 out)',
      '2,020 tokens (2,000 in, 20 out)',
      '3,030 tokens (3,000 in, 30 out)',
      '6,060 tokens (6,000 in, 60 out)',
    ]);
    // Under each reply, not under the user's message.
    expect(await tab.$$eval('#messages > li .tokens', (ps) => ps.map((p) => p.closest('li').dataset.role))).toEqual([
      'assistant',
      'assistant',
      'assistant',
      'assistant',
    ]);
    // Every version counts: 1010 * (1 + 2 + 3 + 4 + 5 + 6).
    expect(await tab.textContent('#usage')).toBe('This conversation: 21,210 tokens');

    await tab.getByRole('button', { name: 'Next version' }).first().click();
    await waitForStored(tab, 6);
    await waitForVersions(tab, 2, '2 / 2');
    await tab.waitForFunction(() => document.querySelectorAll('#messages > li .tokens').length === 3);
    expect(await tokenLines(tab)).toEqual([
      '1,010 tokens (1,000 in, 10 out)',
      '4,040 tokens (4,000 in, 40 out)',
      '5,050 tokens (5,000 in, 50 out)',
    ]);
    expect(await tab.textContent('#usage')).toBe('This conversation: 21,210 tokens');
  });

  it('takes the screenshot for the READMEs: a message with < 2 / 2 >, tokens, the search box', async () => {
    await tab.goto(`${base}/#/c/${encodeURIComponent(conversationId)}`);
    await tab.reload(); // the turn list closed
    await tab.locator('#live[data-live="on"]').waitFor();
    await tab.locator('#messages > li[data-turn="2"] .versions').waitFor();
    if ((await versionsAt(tab, 2)) === '1 / 2') await tab.getByRole('button', { name: 'Next version' }).first().click();
    await waitForStored(tab, 6);
    await waitForVersions(tab, 2, '2 / 2');
    // The tokens, when the usage is recorded (checked after the picture, so that the picture is written).
    await tab
      .waitForFunction(() => document.querySelectorAll('#messages > li .tokens').length === 3, undefined, {
        timeout: 5000,
      })
      .catch(() => undefined);
    await tab.getByLabel('Search your conversations').fill('tea');
    await tab.getByRole('button', { name: 'Search', exact: true }).click();
    await tab.locator('#search-results mark').first().waitFor();
    await tab.evaluate(() =>
      document.querySelector('#messages > li[data-turn="2"]').scrollIntoView({ block: 'start' }),
    );
    await tab.locator('#message').fill('');
    await tab.evaluate(() => (document.activeElement as { blur(): void } | null)?.blur());
    await tab.mouse.move(999, 719);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await tab.screenshot({ path: SCREENSHOT });
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1000, 720]);
    expect(await tab.locator('#messages > li .tokens').count()).toBe(3);
    expect(await tab.locator('#usage').isVisible()).toBe(true);
  });
});
