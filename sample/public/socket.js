// The chat over one WebSocket (sample/src/socket/chat.gateway.ts): plain JavaScript, no dependencies.
//
// - The caller is the chat page's (localStorage), sent as ?caller= on the connection (a browser's
//   WebSocket sends no custom headers; demo mode only, a real application uses its session cookie).
// - The conversation is in the URL (#/c/<id>), as on the chat page, so both pages open the same one.
// - `join` answers with the newest items, then every stored change arrives as `change` (this tab's
//   turns, other tabs', the HTTP page's). `say` streams the reply as `delta` events: the sending tab
//   shows its message and the growing reply as drafts until the stored items arrive.

const CALLER_KEY = 'nestjs-session-memory-sample.caller';
const $ = (id) => document.getElementById(id);
const ui = {
  caller: $('caller'),
  title: $('conversation-title'),
  live: $('live'),
  messages: $('messages'),
  empty: $('no-messages'),
  error: $('error'),
  composer: $('composer'),
  message: $('message'),
  newConversation: $('new-conversation'),
};
const state = { caller: loadCaller(), conversationId: conversationFromUrl(), socket: null, drafts: [] };

function loadCaller() {
  try {
    let id = localStorage.getItem(CALLER_KEY);
    if (!id) localStorage.setItem(CALLER_KEY, (id = `caller-${randomHex(4)}`));
    return id;
  } catch {
    return `caller-${randomHex(4)}`;
  }
}

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function conversationFromUrl() {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  if (match) return decodeURIComponent(match[1]);
  const id = `conv-${randomHex(6)}`;
  history.replaceState(null, '', `#/c/${encodeURIComponent(id)}`);
  return id;
}

function textOf(item) {
  if (typeof item.content === 'string') return item.content;
  if (Array.isArray(item.content)) return item.content.map((part) => part?.text ?? '').join('');
  return item.type ?? '';
}

function render(role, text, draft) {
  const li = document.createElement('li');
  li.className = `message ${role}`;
  li.dataset.role = role;
  if (draft) li.dataset.draft = 'true';
  const who = document.createElement('p');
  who.className = 'who';
  who.textContent = role === 'user' ? 'You' : role === 'assistant' ? 'Assistant' : role;
  const body = document.createElement('p');
  body.className = 'text';
  body.textContent = text;
  li.append(who, body);
  return li;
}

function addStored(item) {
  const role = item.role === 'user' || item.role === 'assistant' ? item.role : 'other';
  const li = render(role, textOf(item), false);
  const draft = state.drafts[0];
  if (draft && draft.role === role) {
    state.drafts.shift();
    draft.li.replaceWith(li);
  } else {
    ui.messages.insertBefore(li, state.drafts[0]?.li ?? null);
  }
  ui.empty.hidden = ui.messages.children.length > 0;
  li.scrollIntoView({ block: 'end' });
}

function addDraft(role, text) {
  const li = render(role, text, true);
  ui.messages.append(li);
  state.drafts.push({ role, li });
  ui.empty.hidden = true;
  return li;
}

function send(event, data) {
  state.socket?.send(JSON.stringify({ event, data: { conversationId: state.conversationId, ...data } }));
}

const handlers = {
  joined({ items }) {
    ui.messages.replaceChildren();
    state.drafts = [];
    for (const item of items) addStored(item);
    ui.empty.hidden = items.length > 0;
    ui.live.dataset.live = 'on';
    ui.live.textContent = 'Live';
  },
  change(change) {
    if (change.type === 'added') for (const item of change.items) addStored(item);
    else if (change.type === 'cleared') ui.messages.replaceChildren();
    else if (change.type === 'popped') ui.messages.querySelector('li:not([data-draft]):last-of-type')?.remove();
    else if (change.type === 'denied') ui.error.textContent = 'This conversation belongs to someone else now.';
  },
  delta({ text }) {
    const reply = state.drafts.find((d) => d.role === 'assistant') ?? { li: addDraft('assistant', '') };
    reply.li.querySelector('.text').textContent += text;
  },
  done() {
    // The stored turn arrives as a change (it replaces the drafts), in every tab of the conversation.
  },
  error({ message }) {
    ui.error.textContent = message;
    for (const draft of state.drafts.splice(0)) draft.li.remove();
  },
};

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new window.WebSocket(`${scheme}://${location.host}/ws?caller=${encodeURIComponent(state.caller)}`);
  state.socket = socket;
  socket.addEventListener('open', () => send('join', {}));
  socket.addEventListener('message', (event) => {
    const { event: name, data } = JSON.parse(event.data);
    // Changes of a conversation this tab showed before (#/c/ changed) are not this one's.
    if (data?.conversationId !== undefined && data.conversationId !== state.conversationId) return;
    handlers[name]?.(data);
  });
  socket.addEventListener('close', () => {
    ui.live.dataset.live = 'off';
    ui.live.textContent = 'Reconnecting…';
    if (state.socket === socket) setTimeout(connect, 1000);
  });
}

ui.caller.textContent = state.caller;
ui.title.textContent = state.conversationId;
ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.message.value.trim();
  if (!text || state.socket?.readyState !== window.WebSocket.OPEN) return;
  ui.error.textContent = '';
  addDraft('user', text);
  addDraft('assistant', '');
  send('say', { text });
  ui.message.value = '';
});
ui.message.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.newConversation.addEventListener('click', () => {
  location.hash = `#/c/conv-${randomHex(6)}`;
});
window.addEventListener('hashchange', () => {
  state.conversationId = conversationFromUrl();
  ui.title.textContent = state.conversationId;
  ui.error.textContent = '';
  send('join', {});
});
connect();
