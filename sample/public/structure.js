// The chat page's conversation structure: edit an earlier message (a new branch from that turn, the
// reply streamed as for a new message), `< 2 / 3 >` between the versions of a message, the list of
// turns to jump to, and the tokens each reply and the whole conversation used.
//
// It reads GET /conversations/:id/turns (sample/src/branches.controller.ts) whenever the stored
// messages on the page change, and decorates them: it never renders messages itself (app.js does).
// The current version is stored on the server (the conversation's current branch), so a reload or
// another tab shows the same one; a tab that finds another version current shows it.

import { chat } from './app.js';

const $ = (id) => document.getElementById(id);
const ui = {
  messages: $('messages'),
  usage: $('usage'),
  turns: $('turns'),
  turnList: $('turn-list'),
  input: $('message'),
};

const state = {
  /** The conversation and the branch the page shows, as the last answer said. */
  conversation: null,
  branch: null,
  /** The last answer of GET /conversations/:id/turns. */
  data: null,
  /** The turn whose message is being edited, or null. */
  editing: null,
  /** After a switch: { turn, control } to give the focus back to. */
  focus: null,
};

const NUMBER = new Intl.NumberFormat('en');
const tokens = (n) => `${NUMBER.format(n)} token${n === 1 ? '' : 's'}`;

// ------------------------------------------------------------------------------------------ refresh

let refreshTimer;
let refreshRequest = 0;

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 100);
}

/** The stored messages on the page (drafts left out), oldest first. */
const storedMessages = () => [...ui.messages.querySelectorAll(':scope > li:not([data-draft])')];

async function refresh() {
  const id = chat.current();
  const mine = ++refreshRequest;
  if (id === null) {
    clear();
    return;
  }
  // While a message is sent, the drafts stand for items not stored yet: wait until they are.
  if (ui.messages.querySelector(':scope > li[data-draft]')) return;
  let data;
  try {
    data = await (await chat.api(`${chat.conversationPath(id)}/turns`)).json();
  } catch {
    return; // 401, 403, 503: the history shows why
  }
  if (mine !== refreshRequest || id !== chat.current()) return;
  if (state.conversation === id && state.branch !== null && data.branchId !== state.branch) {
    // Another tab edited a message or switched versions: show the version now current.
    state.branch = data.branchId;
    await chat.reload();
    return; // the messages change: refreshed again
  }
  state.conversation = id;
  state.branch = data.branchId;
  state.data = data;
  decorate(data);
}

function clear() {
  state.conversation = null;
  state.branch = null;
  state.data = null;
  state.editing = null;
  ui.usage.hidden = true;
  ui.turns.hidden = true;
  ui.turnList.replaceChildren();
  delete ui.turnList.dataset.turns;
}

/**
 * The user messages on the page with their turn numbers: the page shows the newest ones, so the last
 * is the branch's last turn. Null when the page and the answer disagree (a change in between: the
 * next refresh puts it right).
 */
function userMessages(data) {
  const users = storedMessages().filter((li) => li.dataset.role === 'user');
  const first = data.turns.length - users.length + 1;
  if (first < 1) return null;
  const found = users.map((li, i) => ({ li, turn: data.turns[first - 1 + i] }));
  const agree = found.every(({ li, turn }) => li.querySelector(':scope > .text')?.textContent === turn.fullContent);
  return agree ? found : null;
}

// ----------------------------------------------------------------------------------------- decorate

function decorate(data) {
  ui.usage.hidden = data.usage === null;
  if (data.usage) {
    const { totalTokens, inputTokens, outputTokens, requests } = data.usage;
    ui.usage.textContent = `This conversation: ${tokens(totalTokens)}`;
    ui.usage.title = `${NUMBER.format(inputTokens)} in, ${NUMBER.format(outputTokens)} out, ${requests} model requests, every version included`;
  }
  renderTurnList(data);

  const users = userMessages(data) ?? [];
  // What each message should carry; what it already carries is kept (a focused button stays focused).
  const tools = new Map();
  const tokenLines = new Map();
  users.forEach(({ li, turn }, i) => {
    if (state.editing !== turn.turn) tools.set(li, turn);
    // The turn's reply: the last stored item before the next user message.
    const next = users[i + 1]?.li ?? null;
    const last = next ? next.previousElementSibling : storedMessages().at(-1);
    if (turn.usage && last && last !== li && last.dataset.role !== 'user') {
      const { totalTokens, inputTokens, outputTokens } = turn.usage;
      tokenLines.set(
        last,
        `${tokens(totalTokens)} (${NUMBER.format(inputTokens)} in, ${NUMBER.format(outputTokens)} out)`,
      );
    }
  });
  for (const li of storedMessages()) {
    const turn = tools.get(li);
    if (turn) li.dataset.turn = String(turn.turn);
    const signature = turn ? JSON.stringify([turn.turn, turn.versions]) : undefined;
    const shown = li.querySelector(':scope > .message-tools');
    if (shown && li.dataset.tools !== signature) shown.remove();
    if (turn && (!shown || li.dataset.tools !== signature)) li.append(toolsFor(turn));
    if (signature) li.dataset.tools = signature;
    else delete li.dataset.tools;

    const line = tokenLines.get(li);
    const p = li.querySelector(':scope > .tokens');
    if (p && p.textContent !== line) p.remove();
    if (line && p?.textContent !== line) {
      const added = document.createElement('p');
      added.className = 'tokens';
      added.textContent = line;
      li.append(added);
    }
  }
  restoreFocus(users);
}

/** The Edit button of a user message, and its `< i / n >` control when it has versions. */
function toolsFor(turn) {
  const tools = document.createElement('div');
  tools.className = 'message-tools';
  if (turn.versions) tools.append(versionsControl(turn));
  const edit = document.createElement('button');
  edit.type = 'button';
  edit.className = 'secondary edit-button';
  // The label is drawn by CSS (style.css): the message's text stays the message's.
  edit.setAttribute('aria-label', `Edit message ${turn.turn}`);
  edit.addEventListener('click', () => startEdit(turn));
  tools.append(edit);
  return tools;
}

function versionsControl(turn) {
  const { index, count, branchIds } = turn.versions;
  const group = document.createElement('div');
  group.className = 'versions';
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', `Version ${index} of ${count} of message ${turn.turn}`);
  const step = (delta, label, text) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.dataset.control = delta < 0 ? 'previous' : 'next';
    button.setAttribute('aria-label', label);
    button.textContent = text;
    const target = branchIds[index - 1 + delta];
    // aria-disabled, not disabled: a disabled button loses the keyboard focus.
    if (!target) button.setAttribute('aria-disabled', 'true');
    button.addEventListener('click', () => {
      if (target) showVersion(turn.turn, target, button.dataset.control, `${index + delta} of ${count}`);
    });
    return button;
  };
  const shown = document.createElement('span');
  shown.className = 'version-count';
  shown.textContent = `${index} / ${count}`;
  group.append(step(-1, 'Previous version', '<'), shown, step(1, 'Next version', '>'));
  return group;
}

function renderTurnList(data) {
  ui.turns.hidden = data.turns.length === 0;
  const signature = JSON.stringify(data.turns.map((t) => t.content));
  if (ui.turnList.dataset.turns === signature) return; // unchanged: a focused link stays focused
  ui.turnList.dataset.turns = signature;
  ui.turnList.replaceChildren(
    ...data.turns.map((turn) => {
      const link = document.createElement('a');
      link.href = '#';
      link.textContent = turn.content;
      link.dataset.turn = String(turn.turn);
      link.addEventListener('click', (event) => {
        event.preventDefault();
        jumpToTurn(turn.turn);
      });
      const item = document.createElement('li');
      item.append(link);
      return item;
    }),
  );
}

function restoreFocus(users) {
  if (!state.focus) return;
  const { turn, control } = state.focus;
  const found = users.find((u) => u.turn.turn === turn);
  if (!found) return;
  state.focus = null;
  found.li.querySelector(`[data-control="${control}"]`)?.focus();
}

// ------------------------------------------------------------------------------------------- actions

/** The message of user turn `turn`, loading older pages until it is on the page; null if it is not there. */
async function revealTurn(turn) {
  for (;;) {
    const total = state.data?.turns.length ?? 0;
    const users = storedMessages().filter((li) => li.dataset.role === 'user');
    const li = users[users.length - (total - turn) - 1];
    if (li) return li;
    if (!chat.hasOlder() || turn < 1 || turn > total) return null;
    await chat.loadOlder();
  }
}

async function jumpToTurn(turn) {
  const li = await revealTurn(turn);
  if (!li) return;
  li.tabIndex = -1;
  li.scrollIntoView({ block: 'center' });
  li.focus();
  chat.setStatus(`Turn ${turn}.`);
}

/** The branch (version) the page shows now, as the server last said; null before it said. */
export const shownBranch = () => (state.conversation === chat.current() ? state.branch : null);

/**
 * Makes `branchId` the conversation's current branch (for every tab) and shows its history. Used by
 * the `< i / n >` control, and by search.js to open a message found on another version.
 */
export async function showBranch(branchId) {
  const id = chat.current();
  await chat.api(`${chat.conversationPath(id)}/branch`, {
    method: 'PUT',
    body: JSON.stringify({ branchId }),
  });
  if (id !== chat.current()) return;
  state.branch = branchId;
  await chat.reload();
}

async function showVersion(turn, branchId, control, which) {
  if (chat.sending()) return;
  try {
    state.focus = { turn, control };
    await showBranch(branchId);
    await revealTurn(turn);
    chat.setStatus(`Showing version ${which}.`);
  } catch (err) {
    state.focus = null;
    chat.showError(`Could not show that version: ${err.message}`);
  }
}

function startEdit(turn) {
  const li = storedMessages().find((m) => m.dataset.turn === String(turn.turn));
  if (!li || chat.sending()) return;
  state.editing = turn.turn;
  li.querySelector(':scope > .message-tools')?.remove();
  const text = li.querySelector(':scope > .text');
  text.hidden = true;

  const form = document.createElement('form');
  form.className = 'edit';
  const label = document.createElement('label');
  label.htmlFor = `edit-${turn.turn}`;
  label.textContent = 'Edit your message';
  const box = document.createElement('textarea');
  box.id = `edit-${turn.turn}`;
  box.rows = 3;
  box.maxLength = 10000;
  box.required = true;
  box.value = turn.fullContent;
  const save = document.createElement('button');
  save.type = 'submit';
  save.textContent = 'Send edit';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'secondary';
  cancel.textContent = 'Cancel';
  const row = document.createElement('div');
  row.className = 'edit-row';
  row.append(save, cancel);
  form.append(label, box, row);
  li.append(form);

  const stop = () => {
    state.editing = null;
    form.remove();
    text.hidden = false;
    refreshSoon();
  };
  cancel.addEventListener('click', () => {
    stop();
    li.tabIndex = -1;
    li.focus();
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') cancel.click();
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (box.value.trim() === '' || chat.sending()) return;
    stop();
    sendEdit(turn.turn, box.value);
  });
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

/** The edit of turn `turn`: a new branch holding the history before it, then `text` sent on it. */
async function sendEdit(turn, text) {
  const id = chat.current();
  ui.input.focus(); // the edited message goes away with the history after it
  try {
    const answer = await chat.api(`${chat.conversationPath(id)}/branches`, {
      method: 'POST',
      body: JSON.stringify({ turn }),
    });
    const { branchId } = await answer.json();
    if (id !== chat.current()) return;
    state.branch = branchId;
    await chat.reload();
    await chat.send(text);
  } catch (err) {
    chat.showError(`The message was not edited: ${err.message}`);
  }
}

// --------------------------------------------------------------------------------------------- wire

// Stored messages are added, replaced and removed by app.js: each change brings the decorations up to date.
new window.MutationObserver(refreshSoon).observe(ui.messages, { childList: true });
window.addEventListener('hashchange', refreshSoon);
refreshSoon();
