// The chat page's search box: full-text search over the caller's own conversations
// (GET /search, sample/src/search.controller.ts). Each result shows the conversation's title and a
// snippet with the matched words highlighted; choosing one opens that conversation at that message.
//
// The snippet is shown as text nodes with <mark> elements built from the server's `highlights`
// offsets: nothing from the server is ever parsed as HTML.

import { chat } from './app.js';
import { showBranch, shownBranch } from './structure.js';

const $ = (id) => document.getElementById(id);
const ui = {
  form: $('search'),
  query: $('search-query'),
  block: $('search-results-block'),
  heading: $('search-heading'),
  results: $('search-results'),
  none: $('no-results'),
  more: $('more-results'),
  messages: $('messages'),
};

const state = { query: '', cursor: null, request: 0 };

// -------------------------------------------------------------------------------------------- search

async function search(query, append) {
  const mine = ++state.request;
  const more = append && state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : '';
  try {
    const page = await (await chat.api(`/search?q=${encodeURIComponent(query)}${more}`)).json();
    if (mine !== state.request) return; // a newer search is on its way
    state.query = query;
    state.cursor = page.nextCursor;
    if (!append) ui.results.replaceChildren();
    for (const hit of page.hits) ui.results.append(renderHit(hit));
    const n = ui.results.children.length;
    ui.block.hidden = false;
    ui.heading.textContent = `${n}${state.cursor ? '+' : ''} result${n === 1 ? '' : 's'} for “${query}”`;
    ui.none.hidden = n > 0;
    ui.more.hidden = !state.cursor;
    if (!append) ui.heading.focus();
  } catch (err) {
    if (mine === state.request) chat.showError(`Could not search: ${err.message}`);
  }
}

/** The snippet as text and <mark> elements: `highlights` are offsets into it. */
function snippetNodes(snippet, highlights) {
  const nodes = [];
  let at = 0;
  for (const { start, end } of [...highlights].sort((a, b) => a.start - b.start)) {
    if (start < at || end > snippet.length || start >= end) continue;
    nodes.push(snippet.slice(at, start));
    const mark = document.createElement('mark');
    mark.textContent = snippet.slice(start, end);
    nodes.push(mark);
    at = end;
  }
  nodes.push(snippet.slice(at));
  return nodes;
}

function renderHit(hit) {
  const link = document.createElement('a');
  link.href = `#/c/${encodeURIComponent(hit.conversationId)}`;
  link.className = 'result';
  const title = document.createElement('span');
  title.className = 'result-title';
  title.textContent = hit.title || 'Untitled conversation';
  const who = document.createElement('span');
  who.className = 'result-who';
  who.textContent = hit.role === 'user' ? 'You' : hit.role === 'assistant' ? 'Assistant' : hit.role;
  const snippet = document.createElement('span');
  snippet.className = 'snippet';
  snippet.append(...snippetNodes(hit.snippet, hit.highlights));
  link.append(title, who, snippet);
  link.addEventListener('click', (event) => {
    event.preventDefault();
    openHit(hit);
  });
  const item = document.createElement('li');
  item.append(link);
  return item;
}

// ------------------------------------------------------------------------------------- open a result

/** Letters and digits only: the page joins a message's text parts as the index does not (with or without newlines). */
const squeeze = (text) => text.replace(/\s+/g, '');

/**
 * The message on the page the hit stands for: its role, and its text containing the snippet (without
 * the ellipses the snippet has where it was cut). The newest such message when several are.
 */
function messageOf(hit) {
  const core = squeeze(hit.snippet.replace(/^…/, '').replace(/…$/, ''));
  const role = hit.role === 'user' || hit.role === 'assistant' ? hit.role : 'other';
  const stored = [...ui.messages.querySelectorAll(':scope > li:not([data-draft])')].reverse();
  return stored.find(
    (li) => li.dataset.role === role && squeeze(li.querySelector(':scope > .text')?.textContent ?? '').includes(core),
  );
}

/** Pages back through the open conversation (20 items a page, as "Load older messages") until the message is shown. */
async function findOnPage(hit) {
  let li = messageOf(hit);
  while (!li && chat.hasOlder() && chat.current() === hit.conversationId) {
    await chat.loadOlder();
    li = messageOf(hit);
  }
  return li;
}

/**
 * Opens the hit's conversation at its message: the newest page first, then older pages until the
 * message is there. A message of another version (a branch the conversation does not show now) is
 * shown by switching to that version first.
 */
async function openHit(hit) {
  chat.open(hit.conversationId);
  await chat.ready();
  if (chat.current() !== hit.conversationId) return;
  let li = await findOnPage(hit);
  if (!li && hit.branchId !== shownBranch()) {
    try {
      await showBranch(hit.branchId);
      li = await findOnPage(hit);
    } catch (err) {
      chat.showError(`Could not open that version: ${err.message}`);
      return;
    }
  }
  if (!li) {
    chat.setStatus('That message is no longer in the conversation.');
    return;
  }
  for (const old of ui.messages.querySelectorAll(':scope > li.found')) old.classList.remove('found');
  li.classList.add('found');
  li.tabIndex = -1;
  li.scrollIntoView({ block: 'center' });
  li.focus();
  chat.setStatus(`Showing the message found for “${state.query}”.`);
}

// --------------------------------------------------------------------------------------------- wire

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const query = ui.query.value.trim();
  if (query !== '') search(query, false);
});
ui.more.addEventListener('click', () => search(state.query, true));
