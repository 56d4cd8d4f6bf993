import { INestApplication } from '@nestjs/common';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SessionItem, SessionMemoryService } from '../../lib';
import {
  CALLER_KEY,
  CHROMIUM,
  CountingModel,
  conversationIdOf,
  describeInChromium,
  send,
  startSample,
  waitForStored,
} from './page-harness';

/**
 * The chat page's search box in a real browser (Chromium, playwright-core), against the sample app on
 * an SQLite file (started with `search: true`): a word said in another of the caller's conversations
 * is found, shown in a snippet with the word highlighted (and the text escaped), and choosing the
 * result opens that conversation at that message, paging back through its history; another caller's
 * conversations never appear; a message on a version the conversation does not show is opened on it.
 */

declare const document: any;
declare const localStorage: any;

const FOUND = 'I spread <b>marmalade</b> & butter on my toast.';

/** `n` alternating user and assistant messages `Note 1`, `Note 2`, ..., with `special` at index `at`. */
function notes(n: number, at: number, special: string): SessionItem[] {
  return Array.from({ length: n }, (_, i): SessionItem => {
    const text = i === at ? special : `Note ${i + 1}`;
    return i % 2 === 0
      ? { role: 'user', content: text }
      : {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text }],
        };
  });
}

/** Searches with the labelled box and waits for the results heading. */
async function search(page: Page, query: string): Promise<void> {
  await page.getByLabel('Search your conversations').fill(query);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#search-results-block').waitFor({ state: 'visible' });
  await page.waitForFunction((q) => document.querySelector('#search-heading')?.textContent.endsWith(`“${q}”`), query);
}

/** Each result: title, who, the snippet's text, and its highlighted words. */
function resultsOf(page: Page): Promise<{ title: string; who: string; snippet: string; marks: string[] }[]> {
  return page.$$eval('#search-results a', (links) =>
    links.map((a) => ({
      title: a.querySelector('.result-title')?.textContent ?? '',
      who: a.querySelector('.result-who')?.textContent ?? '',
      snippet: a.querySelector('.snippet')?.textContent ?? '',
      marks: [...a.querySelectorAll('.snippet mark')].map((m) => m.textContent ?? ''),
    })),
  );
}

describeInChromium('the chat page: the search box over your conversations (Chromium)', () => {
  let app: INestApplication;
  let base: string;
  let restoreEnv: () => void;
  let browser: Browser;
  let ada: BrowserContext;
  let tab: Page;
  let edit: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ({ app, base, restoreEnv } = await startSample(new CountingModel(), 'nsm-search-page-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    ada = await browser.newContext({ viewport: { width: 1000, height: 720 }, colorScheme: 'light' });
    await ada.addInitScript(([key]) => localStorage.setItem(key, 'ada'), [CALLER_KEY]);
    tab = await ada.newPage();
    tab.setDefaultTimeout(20_000);
    tab.on('pageerror', (err) => pageErrors.push(`${tab.url()}: ${err.message}`));

    const memory = app.get(SessionMemoryService);
    // Ada's long conversation: the word is in its 3rd item of 50, two pages back from the newest.
    const breakfast = memory.session('breakfast', { owner: 'ada' });
    await breakfast.setMetadata({ title: 'Breakfast' });
    await breakfast.addItems(notes(50, 2, FOUND));
    // Bob said it too: never shown to Ada.
    const bobs = memory.session('bobs-breakfast', { owner: 'bob' });
    await bobs.setMetadata({ title: "Bob's breakfast" });
    await bobs.addItems(notes(2, 0, 'Bob likes marmalade as well.'));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    restoreEnv?.();
  });
  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it("finds a word said in another of the caller's conversations, highlighted and shown as text", async () => {
    await tab.goto(base);
    await send(tab, 'Soup for lunch today.');
    await waitForStored(tab, 2);
    expect(conversationIdOf(tab)).not.toBe('breakfast');

    await search(tab, 'marmalade');
    expect(await resultsOf(tab)).toEqual([{ title: 'Breakfast', who: 'You', snippet: FOUND, marks: ['marmalade'] }]);
    expect(await tab.textContent('#search-heading')).toBe('1 result for “marmalade”');
    // The snippet's markup-like text is text: no element was made of it.
    expect(await tab.locator('#search-results b').count()).toBe(0);
    // The focus moved to the results, for the keyboard and screen readers.
    expect(await tab.evaluate(() => document.activeElement?.id)).toBe('search-heading');
  });

  it('opens the conversation at that message, paging back until it is on the page', async () => {
    await tab.locator('#search-results a', { hasText: 'Breakfast' }).click();
    await tab.waitForFunction(() => document.activeElement?.classList.contains('found'));
    expect(conversationIdOf(tab)).toBe('breakfast');
    expect(await tab.evaluate(() => document.activeElement.querySelector(':scope > .text').textContent)).toBe(FOUND);
    // The newest page held items 31 to 50: two older pages were loaded to reach item 3.
    expect(await tab.locator('#messages > li:not([data-draft])').count()).toBe(50);
    expect(await tab.locator('#messages > li.found').count()).toBe(1);
    expect(await tab.textContent('#status')).toBe('Showing the message found for “marmalade”.');
    expect(await tab.textContent('#conversation-title')).toBe('Breakfast');
  });

  it('searches several words and phrases; what matches nothing says so; markup in a query is only text', async () => {
    await search(tab, '"butter on my" toast');
    expect((await resultsOf(tab)).map((r) => r.marks)).toEqual([['butter', 'on', 'my', 'toast']]);

    await search(tab, 'marmalade -butter');
    expect(await resultsOf(tab)).toEqual([]);
    expect(await tab.locator('#no-results').isVisible()).toBe(true);

    await search(tab, '<img src=x onerror=alert(1)>');
    expect(await tab.locator('#search-results-block img').count()).toBe(0);
    expect(await tab.textContent('#search-heading')).toBe('0 results for “<img src=x onerror=alert(1)>”');
  });

  it('"More results" loads the next page of hits (20 a page)', async () => {
    const session = app.get(SessionMemoryService).session('pomelos', { owner: 'ada' });
    await session.setMetadata({ title: 'Pomelos' });
    await session.addItems(
      Array.from({ length: 25 }, (_, i): SessionItem => ({ role: 'user', content: `Pomelo ${i}` })),
    );
    await search(tab, 'pomelo');
    expect(await tab.locator('#search-results li').count()).toBe(20);
    expect(await tab.textContent('#search-heading')).toBe('20+ results for “pomelo”');
    await tab.getByRole('button', { name: 'More results' }).click();
    await tab.waitForFunction(() => document.querySelectorAll('#search-results li').length === 25);
    expect(await tab.textContent('#search-heading')).toBe('25 results for “pomelo”');
    expect(await tab.locator('#more-results').isHidden()).toBe(true);
    const snippets = (await resultsOf(tab))
      .map((r) => r.snippet)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    expect(snippets).toEqual(Array.from({ length: 25 }, (_, i) => `Pomelo ${i}`));
  });

  it('a message of main that the version shown does not hold opens on main', async () => {
    const session = app.get(SessionMemoryService).session('versions', { owner: 'ada' });
    await session.setMetadata({ title: 'Fruit' });
    await session.addItems(notes(2, 0, 'Tell me about figs.'));
    edit = await session.createBranchFromTurn(1); // "figs" edited into "quinces": the branch is current
    await session.addItems(notes(2, 0, 'Tell me about quinces.'));
    await tab.goto(`${base}/#/c/versions`);
    await tab.locator('#live[data-live="on"]').waitFor();
    await tab.waitForFunction(
      () => document.querySelector('#messages > li[data-turn="1"] .version-count')?.textContent === '2 / 2',
    );

    await search(tab, 'figs');
    expect(await resultsOf(tab)).toEqual([
      { title: 'Fruit', who: 'You', snippet: 'Tell me about figs.', marks: ['figs'] },
    ]);
    await tab.locator('#search-results a', { hasText: 'Fruit' }).click();
    await tab.waitForFunction(() => document.activeElement?.classList.contains('found'));
    expect(await tab.evaluate(() => document.activeElement.querySelector(':scope > .text').textContent)).toBe(
      'Tell me about figs.',
    );
    // Not on the version shown: shown by switching to main, for every tab, as `< 1 / 2 >` would.
    expect(await session.getCurrentBranch()).toBe('main');
    await tab.waitForFunction(
      () => document.querySelector('#messages > li[data-turn="1"] .version-count')?.textContent === '1 / 2',
    );
  });

  it('a message on a branch the conversation does not show now opens on that branch', async () => {
    const session = app.get(SessionMemoryService).session('versions', { owner: 'ada' });
    expect(await session.getCurrentBranch()).toBe('main');
    await search(tab, 'quinces');
    expect(await resultsOf(tab)).toEqual([
      { title: 'Fruit', who: 'You', snippet: 'Tell me about quinces.', marks: ['quinces'] },
    ]);
    await tab.locator('#search-results a', { hasText: 'Fruit' }).click();
    await tab.waitForFunction(() => document.activeElement?.classList.contains('found'));
    expect(conversationIdOf(tab)).toBe('versions');
    expect(await tab.evaluate(() => document.activeElement.querySelector(':scope > .text').textContent)).toBe(
      'Tell me about quinces.',
    );
    expect(await session.getCurrentBranch()).toBe(edit);
    await tab.waitForFunction(
      () => document.querySelector('#messages > li[data-turn="1"] .version-count')?.textContent === '2 / 2',
    );
  });
});
