// The chat page of the nestjs-session-memory sample: plain JavaScript, no build step, no dependencies.
//
// - The caller is an id kept in localStorage and sent as the x-caller-id header (as ?caller= for the
//   EventSource, which cannot send headers). The server takes it at its word only in demo mode
//   (SAMPLE_DEMO_AUTH=1, as `npm run sample` starts it); otherwise every API call answers 401 and the
//   page shows why. A real application authenticates its users (a session cookie reaches the
//   EventSource too) and sends no caller id of its own.
// - The open conversation is in the URL (#/c/<id>), so a reload or a second tab opens it again.
// - A reply is streamed: POST /conversations/:id/replies answers with Server-Sent Events, read here
//   with fetch() (EventSource cannot POST), and its text grows as the model produces it.
// - Every stored item arrives through GET /conversations/:id/events (an EventSource on changes$()), in
//   every tab open on the conversation, the sending one included: what the sending tab shows while it
//   waits (its message, the growing reply) are drafts, replaced by the stored items as they arrive.

const CALLER_KEY = 'nestjs-session-memory-sample.caller';
const PAGE_SIZE = 20;
const READY_WAIT_MS = 3000;

const $ = (id) => document.getElementById(id);
const ui = {
  caller: $('caller'),
  conversations: $('conversations'),
  noConversations: $('no-conversations'),
  moreConversations: $('more-conversations'),
  newConversation: $('new-conversation'),
  title: $('conversation-title'),
  live: $('live'),
  deleteConversation: $('delete-conversation'),
  scroller: $('scroller'),
  loadOlder: $('load-older'),
  messages: $('messages'),
  noMessages: $('no-messages'),
  status: $('status'),
  error: $('error'),
  composer: $('composer'),
  input: $('message'),
  send: $('send'),
};

const state = {
  caller: loadCaller(),
  /** The open conversation's id, or null for a new one not yet sent to. */
  current: null,
  /** Title of the open conversation, when known. */
  title: null,
  /** The `before` cursor of the next older page of the open conversation (null: none). */
  before: null,
  /** The EventSource of the open conversation. */
  events: null,
  /** Resolves once the open conversation's change stream is subscribed and its newest page shown. */
  ready: null,
  /** The drafts shown while a message is being sent: { li, role, text }. */
  drafts: [],
  sending: false,
  listCursor: null,
  /** The titles of the listed conversations, by id. */
  titles: new Map(),
};

// ---------------------------------------------------------------------------------------------- caller

function loadCaller() {
  try {
    let id = localStorage.getItem(CALLER_KEY);
    if (!id) {
      id = `caller-${randomHex(4)}`;
      localStorage.setItem(CALLER_KEY, id);
    }
    return id;
  } catch {
    return `caller-${randomHex(4)}`; // storage disabled: a caller for this page only
  }
}

function randomHex(bytes) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ------------------------------------------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { 'x-caller-id': state.caller, ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) throw new ApiError(response.status, await errorText(response));
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    const message = Array.isArray(body.message) ? body.message.join(' ') : body.message;
    if (response.status === 403) return 'This conversation belongs to another caller.';
    return message || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

const conversationPath = (id) => `/conversations/${encodeURIComponent(id)}`;

/** The events of a text/event-stream response body: { event, data } with `data` parsed as JSON. */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) };
    }
  }
}

// ------------------------------------------------------------------------------------- conversation list

/** Refreshes may overlap (a debounced one, one after a delete): only the latest asked for is shown. */
let listRequest = 0;

async function refreshList() {
  const mine = ++listRequest;
  try {
    const page = await (await api('/conversations')).json();
    if (mine !== listRequest) return; // an older answer landing late: a newer refresh is on its way
    state.listCursor = page.nextCursor;
    renderList(page.conversations, false);
  } catch (err) {
    showError(`Could not list the conversations: ${err.message}`);
  }
}

async function moreConversations() {
  if (!state.listCursor) return;
  try {
    const page = await (await api(`/conversations?cursor=${encodeURIComponent(state.listCursor)}`)).json();
    state.listCursor = page.nextCursor;
    renderList(page.conversations, true);
  } catch (err) {
    showError(`Could not list more conversations: ${err.message}`);
  }
}

function renderList(conversations, append) {
  if (!append) {
    ui.conversations.replaceChildren();
    state.titles.clear();
  }
  for (const conversation of conversations) {
    const title = conversation.title || 'Untitled conversation';
    state.titles.set(conversation.id, title);
    const link = document.createElement('a');
    link.href = `#/c/${encodeURIComponent(conversation.id)}`;
    link.textContent = title;
    link.dataset.id = conversation.id;
    const item = document.createElement('li');
    item.append(link);
    ui.conversations.append(item);
  }
  ui.noConversations.hidden = ui.conversations.children.length > 0;
  ui.moreConversations.hidden = !state.listCursor;
  markCurrent();
  if (state.current && state.titles.has(state.current)) setTitle(state.titles.get(state.current));
}

function markCurrent() {
  for (const link of ui.conversations.querySelectorAll('a')) {
    if (link.dataset.id === state.current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

let listRefresh;
function refreshListSoon() {
  clearTimeout(listRefresh);
  listRefresh = setTimeout(refreshList, 150);
}

// ----------------------------------------------------------------------------------- open conversation

function idFromHash() {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

function openConversation(id) {
  closeEvents();
  state.current = id;
  state.before = null;
  state.drafts = [];
  ui.messages.replaceChildren();
  ui.loadOlder.hidden = true;
  showError('');
  setStatus('');
  markCurrent();
  ui.deleteConversation.hidden = id === null;
  setTitle(id === null ? null : (state.titles.get(id) ?? 'Conversation'));
  updateEmpty();
  if (id === null) {
    setLive('off', '');
    state.ready = Promise.resolve();
    return;
  }
  subscribe(id);
}

function setTitle(title) {
  state.title = title;
  ui.title.textContent = title ?? 'New conversation';
  document.title = `${title ?? 'New conversation'} · Chat with memory`;
}

function subscribe(id) {
  let markReady;
  state.ready = new Promise((resolve) => (markReady = resolve));
  const source = new EventSource(`${conversationPath(id)}/events?caller=${encodeURIComponent(state.caller)}`);
  state.events = source;
  setLive('connecting', 'Connecting…');
  const applyChange = async (change) => {
    if (state.events !== source) return;
    if (change.type === 'ready') {
      // Subscribed (first time, or again after the server restarted): show the newest page afresh.
      await loadNewest();
      // Not if the stream ended while the page loaded (the server went away): stay "Reconnecting…".
      if (state.events === source && source.readyState === EventSource.OPEN) setLive('on', 'Live');
      markReady();
    } else if (change.type === 'added') {
      for (const item of change.items) addStored(item);
      refreshListSoon();
    } else if (change.type === 'popped') {
      const stored = ui.messages.querySelectorAll('li:not([data-draft])');
      stored[stored.length - 1]?.remove();
      updateEmpty();
    } else if (change.type === 'cleared') {
      for (const li of ui.messages.querySelectorAll('li:not([data-draft])')) li.remove();
      state.before = null;
      ui.loadOlder.hidden = true;
      updateEmpty();
      if (!state.sending) setStatus('This conversation was deleted or cleared.');
      refreshListSoon();
    } else if (change.type === 'denied') {
      closeEvents();
      showError('This conversation belongs to another caller.');
    }
  };
  // One change at a time, in order: a change that arrives while the newest page loads waits for it.
  let queue = Promise.resolve();
  source.onmessage = (event) => {
    queue = queue.then(() => applyChange(JSON.parse(event.data)));
  };
  source.onerror = async () => {
    if (state.events !== source) return;
    if (source.readyState === EventSource.CLOSED) {
      // The server refused the stream (403, 400): ask for the history to learn why.
      closeEvents();
      setLive('off', 'Live updates stopped.');
      await loadNewest();
      markReady();
    } else {
      setLive('connecting', 'Reconnecting…');
    }
  };
}

function closeEvents() {
  state.events?.close();
  state.events = null;
}

function setLive(value, text) {
  ui.live.dataset.live = value;
  ui.live.textContent = text;
}

async function loadNewest() {
  const id = state.current;
  try {
    const page = await fetchHistory(id, null);
    if (id !== state.current) return;
    for (const li of ui.messages.querySelectorAll('li:not([data-draft])')) li.remove();
    const firstDraft = state.drafts[0]?.li ?? null;
    for (const item of page.items) ui.messages.insertBefore(renderItem(item), firstDraft);
    state.before = page.before;
    ui.loadOlder.hidden = !page.hasOlder;
    if (page.title) setTitle(page.title);
    updateEmpty();
    scrollToEnd();
  } catch (err) {
    if (id === state.current) showError(err.message);
  }
}

async function loadOlder() {
  const id = state.current;
  // aria-disabled, not disabled: a disabled button loses the keyboard focus.
  if (ui.loadOlder.getAttribute('aria-disabled') === 'true') return;
  ui.loadOlder.setAttribute('aria-disabled', 'true');
  try {
    const page = await fetchHistory(id, state.before);
    if (id !== state.current) return;
    const heightBefore = ui.scroller.scrollHeight;
    const first = ui.messages.firstChild;
    const rendered = page.items.map(renderItem);
    for (const li of rendered) ui.messages.insertBefore(li, first);
    state.before = page.before;
    ui.scroller.scrollTop += ui.scroller.scrollHeight - heightBefore; // keep what was on screen in place
    ui.loadOlder.hidden = !page.hasOlder;
    setStatus(`Loaded ${page.items.length} older item${page.items.length === 1 ? '' : 's'}.`);
    if (!page.hasOlder && rendered[0]) {
      // The button is gone: move the focus to the oldest message rather than losing it.
      rendered[0].tabIndex = -1;
      rendered[0].focus();
    }
  } catch (err) {
    showError(err.message);
  } finally {
    ui.loadOlder.removeAttribute('aria-disabled');
  }
}

/** One page of history: the newest, or the one before the cursor `before`. */
async function fetchHistory(id, before) {
  const older = before ? `&before=${encodeURIComponent(before)}` : '';
  return (await api(`${conversationPath(id)}/history?limit=${PAGE_SIZE}${older}`)).json();
}

// --------------------------------------------------------------------------------------------- messages

function describe(item) {
  const role = item.role === 'user' || item.role === 'assistant' ? item.role : 'other';
  let text = '';
  if (typeof item.content === 'string') text = item.content;
  else if (Array.isArray(item.content)) {
    text = item.content
      .map((part) => (typeof part?.text === 'string' ? part.text : part?.refusal ? `(refused: ${part.refusal})` : ''))
      .join('');
  } else if (item.type === 'function_call') text = `${item.name}(${item.arguments})`;
  else if (item.type === 'function_call_result') text = JSON.stringify(item.output);
  return { role, text, label: role === 'user' ? 'You' : role === 'assistant' ? 'Assistant' : item.type || 'item' };
}

function renderMessage(role, label, text) {
  const li = document.createElement('li');
  li.className = `message ${role}`;
  li.dataset.role = role;
  const who = document.createElement('p');
  who.className = 'who';
  who.textContent = label;
  const body = document.createElement('p');
  body.className = 'text';
  body.textContent = text;
  li.append(who, body);
  return li;
}

function renderItem(item) {
  const { role, label, text } = describe(item);
  return renderMessage(role, label, text);
}

/** A stored item arrived live: it replaces the draft it stands for, or goes before the drafts. */
function addStored(item) {
  const { role, text } = describe(item);
  const li = renderItem(item);
  const draft = state.drafts[0];
  const nearEnd = isNearEnd();
  if (draft && draft.role === role && (role !== 'user' || draft.text === text)) {
    state.drafts.shift();
    draft.li.replaceWith(li);
  } else {
    ui.messages.insertBefore(li, state.drafts[0]?.li ?? null);
  }
  updateEmpty();
  if (nearEnd) scrollToEnd();
}

function addDraft(role, text) {
  const li = renderMessage(role, role === 'user' ? 'You' : 'Assistant', text);
  li.dataset.draft = 'true';
  const draft = { li, role, text };
  state.drafts.push(draft);
  ui.messages.append(li);
  updateEmpty();
  scrollToEnd();
  return draft;
}

function dropDraft(draft) {
  state.drafts = state.drafts.filter((d) => d !== draft);
  draft.li.remove();
  updateEmpty();
}

function updateEmpty() {
  ui.noMessages.hidden = ui.messages.children.length > 0;
}

function isNearEnd() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
}

function scrollToEnd() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

// ------------------------------------------------------------------------------------------------ send

/** Sends the message box's text, or `edited` (an edited message: structure.js), and streams the reply. */
async function send(edited) {
  const text = edited ?? ui.input.value;
  if (text.trim() === '' || state.sending) return;
  state.sending = true;
  ui.send.setAttribute('aria-disabled', 'true'); // not disabled: that would drop the focus of a pressed button
  showError('');
  if (state.current === null) {
    const id = `c-${randomHex(12)}`;
    history.pushState(null, '', `#/c/${encodeURIComponent(id)}`);
    openConversation(id);
  }
  const id = state.current;
  await Promise.race([state.ready, new Promise((resolve) => setTimeout(resolve, READY_WAIT_MS))]);
  if (edited === undefined) ui.input.value = '';
  const userDraft = addDraft('user', text);
  const reply = addDraft('assistant', '');
  const replyText = reply.li.querySelector('.text');
  reply.li.dataset.streaming = 'true';
  reply.li.setAttribute('aria-busy', 'true');
  setStatus('The assistant is answering…');
  try {
    const response = await api(`${conversationPath(id)}/replies`, {
      method: 'POST',
      headers: { accept: 'text/event-stream' },
      body: JSON.stringify({ text }),
    });
    for await (const { event, data } of serverSentEvents(response.body)) {
      if (event === 'delta') {
        reply.text += data.text;
        replyText.textContent = reply.text;
        if (isNearEnd()) scrollToEnd();
      } else if (event === 'done') {
        reply.text = data.reply;
        replyText.textContent = data.reply;
      } else if (event === 'error') {
        throw new Error(data.message);
      }
    }
    setStatus('');
  } catch (err) {
    if (state.current === id) {
      dropDraft(reply);
      if (userDraft.li.isConnected) {
        dropDraft(userDraft);
        if (ui.input.value === '') ui.input.value = text; // not stored: give the text back
      }
      setStatus('');
      showError(`The message was not answered: ${err.message}`);
    }
  } finally {
    delete reply.li.dataset.streaming;
    reply.li.setAttribute('aria-busy', 'false');
    state.sending = false;
    ui.send.removeAttribute('aria-disabled');
    refreshListSoon();
  }
}

function setStatus(text) {
  ui.status.textContent = text;
}

function showError(text) {
  ui.error.textContent = text;
}

// --------------------------------------------------------------------------------------------- delete

async function deleteConversation() {
  const id = state.current;
  if (id === null) return;
  if (!confirm(`Delete "${state.title ?? 'this conversation'}"? Its history is removed for good.`)) return;
  try {
    await api(conversationPath(id), { method: 'DELETE' });
    history.pushState(null, '', location.pathname + location.search);
    openConversation(null);
    await refreshList();
    setStatus('Conversation deleted.'); // once the list no longer shows it
    ui.newConversation.focus();
  } catch (err) {
    showError(`Could not delete the conversation: ${err.message}`);
  }
}

// ------------------------------------------------------------------------------------------------ wire

ui.caller.textContent = state.caller;
ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});
ui.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.newConversation.addEventListener('click', () => {
  history.pushState(null, '', location.pathname + location.search);
  openConversation(null);
  ui.input.focus();
});
ui.deleteConversation.addEventListener('click', deleteConversation);
ui.loadOlder.addEventListener('click', loadOlder);
ui.moreConversations.addEventListener('click', moreConversations);
// Choosing a conversation in the list, and Back / Forward, change the URL's fragment.
window.addEventListener('hashchange', () => {
  const id = idFromHash();
  if (id === state.current) return;
  openConversation(id);
  ui.title.focus(); // a conversation chosen from the list: announce it, Tab reaches its messages
});

openConversation(idFromHash());
refreshList();

// ------------------------------------------------------------------ for structure.js and search.js

/** What the page's other modules use: versions, turns and tokens (structure.js), the search box (search.js). */
export const chat = {
  api,
  conversationPath,
  /** The open conversation's id (null: a new one). */
  current: () => state.current,
  /** Whether a message is being sent (its reply streaming). */
  sending: () => state.sending,
  /** Resolves once the open conversation's newest page is shown. */
  ready: () => state.ready,
  /** Whether older items can still be loaded, and loads the next older page. */
  hasOlder: () => !ui.loadOlder.hidden,
  loadOlder,
  /** Shows the open conversation's newest page afresh (after a switch to another version). */
  reload: loadNewest,
  /** Opens a conversation as choosing it in the list does (its URL becomes #/c/<id>). */
  open(id) {
    if (id === state.current) return;
    history.pushState(null, '', `#/c/${encodeURIComponent(id)}`);
    openConversation(id);
  },
  /** Sends `text` as the next message of the open conversation, the reply streamed as for the message box. */
  send: (text) => send(text),
  setStatus,
  showError,
};
