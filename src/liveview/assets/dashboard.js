// The sessions dashboard: a card per session of this browser's principal (what the server's
// `sessions` call returns, refreshed every REFRESH_MS), each with a thumbnail of its desktop
// (refreshed every THUMB_MS while the page is visible; the server captures a desktop at most
// twice a second however many pages look), its running tasks and last actions. A click on a card
// asks the server for a one-time link to that session's live view and opens it in a new tab.

const REFRESH_MS = 1500;
const RECORDINGS_MS = 10_000;
const THUMB_MS = 1000;
const base = location.pathname.replace(/\/?$/, '/');
const $ = (id) => document.getElementById(id);
history.replaceState(null, '', base);

/** viewId → { el, session, loading } */
const cards = new Map();
let gone = false;
let frame = 0;

function el(card, cls) {
  return card.el.querySelector(`.${cls}`);
}

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
}

const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

function fill(list, items, render) {
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li');
      render(li, item);
      return li;
    }),
  );
}

function show(card, s) {
  card.session = s;
  card.el.dataset.sessionId = s.session_id;
  card.el.classList.toggle('no-live-view', !s.live_view);
  card.el.classList.toggle('controlled', s.controlled_by !== null);
  el(card, 'id').textContent = s.session_id;
  el(card, 'thumb').alt = `The desktop of session ${s.session_id}`;
  el(card, 'open').title = s.live_view ? 'Open its live view in a new tab' : 'Its computer offers no live view';
  const viewers = s.viewers ? ` · ${s.viewers} watching` : '';
  const noView = s.live_view ? '' : ' · no live view';
  el(card, 'meta').textContent = `${s.kind} · ${s.computer ?? 'starting…'} · active ${ago(s.last_activity)} · opened ${ago(s.created_at)}${noView}${viewers}`;
  el(card, 'control').textContent = s.controlled_by ? `Controlled by ${s.controlled_by}` : s.tasks.length ? 'The agent is working' : 'Idle';
  fill(el(card, 'tasks'), s.tasks, (li, t) => (li.textContent = `${t.name} (since ${ago(t.started_at)})`));
  fill(el(card, 'actions'), s.actions, (li, a) => {
    const time = document.createElement('time');
    time.dateTime = a.at;
    time.textContent = clock(a.at);
    const by = document.createElement('span');
    by.className = `by ${a.by}`;
    by.textContent = a.by;
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = a.action;
    const outcome = document.createElement('span');
    outcome.className = `outcome${a.outcome === 'ok' ? ' ok' : ''}`;
    outcome.textContent = a.outcome;
    li.replaceChildren(time, by, what, outcome);
  });
}

function add(s) {
  const node = $('card').content.firstElementChild.cloneNode(true);
  const card = { el: node, session: s, loading: false };
  node.dataset.viewId = s.view_id;
  node.addEventListener('click', () => void open(card));
  cards.set(s.view_id, card);
  loadThumb(card);
  return card;
}

async function open(card) {
  const error = el(card, 'error');
  error.hidden = true;
  if (!card.session.live_view) {
    error.textContent = "This session's computer offers no live view.";
    error.hidden = false;
    return;
  }
  // The tab is opened now, while the click still counts as the person's (one opened after the
  // request could be blocked as a pop-up), and sent to the live view once its link is there.
  const tab = window.open('', '_blank');
  let r;
  let body = {};
  try {
    r = await fetch(`${base}open/${card.session.view_id}`, { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
    body = await r.json().catch(() => ({}));
  } catch {
    r = undefined;
  }
  if (r?.ok && body.url) {
    if (tab) {
      tab.opener = null;
      tab.location.replace(body.url);
      return;
    }
    // The browser blocked the new tab: a link the person can follow instead (it works once).
    const link = document.createElement('a');
    link.href = body.url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = 'Open the live view';
    link.addEventListener('click', () => (error.hidden = true));
    error.replaceChildren('This browser blocked the new tab. ', link);
    error.hidden = false;
    return;
  }
  tab?.close();
  error.textContent = body.error ?? 'Could not open the live view; try again.';
  error.hidden = false;
}

/** Loads the card's next thumbnail beside the shown one and swaps them once it has arrived: no flicker, one request at a time. */
function loadThumb(card) {
  if (card.loading) return;
  card.loading = true;
  const next = document.createElement('img');
  next.className = 'thumb';
  next.width = 320;
  next.height = 200;
  next.alt = el(card, 'thumb').alt;
  const done = () => (card.loading = false);
  next.addEventListener('load', () => {
    done();
    if (cards.get(card.session.view_id) === card) el(card, 'thumb').replaceWith(next);
  });
  next.addEventListener('error', done);
  next.src = `${base}thumb/${card.session.view_id}.jpg?n=${++frame}`;
}

async function refresh() {
  let r;
  try {
    r = await fetch(`${base}sessions`, { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    $('status').textContent = 'The server cannot be reached; trying again…';
    return;
  }
  if (r.status === 403 || r.status === 404) {
    gone = true;
    cards.clear();
    $('sessions').replaceChildren();
    $('status').textContent = 'This dashboard has ended. Ask for a new link with the dashboard tool.';
    return;
  }
  if (!r.ok) return;
  const state = await r.json();
  document.title = `Sessions of ${state.principal}`;
  $('title').textContent = `Sessions of ${state.principal}`;
  const seen = new Set();
  const order = state.sessions.map((s) => {
    seen.add(s.view_id);
    const card = cards.get(s.view_id) ?? add(s);
    show(card, s);
    return card.el;
  });
  for (const [id] of cards) if (!seen.has(id)) cards.delete(id);
  $('sessions').replaceChildren(...order);
  const n = state.sessions.length;
  $('status').textContent = n ? `${n} session${n === 1 ? '' : 's'}` : 'You have no sessions.';
}

function thumbs() {
  if (gone || document.hidden) return;
  for (const card of cards.values()) loadThumb(card);
}

let busy = false;
async function tick() {
  if (gone || busy) return;
  busy = true;
  await refresh().finally(() => (busy = false));
}

/** The recordings list (RECORDING=true): each recording's files as download links, newest first. */
async function recordings() {
  if (gone) return;
  const r = await fetch(`${base}recordings`, { credentials: 'same-origin', cache: 'no-store' }).catch(() => undefined);
  if (!r?.ok) return;
  const list = await r.json();
  $('recordings').hidden = !list.enabled;
  $('recording-list').replaceChildren(
    ...list.recordings.map((rec) => {
      const li = document.createElement('li');
      const what = document.createElement('span');
      what.textContent = `${rec.session_id} · ${new Date(rec.started_at).toLocaleString()} · ${rec.status} · ${Math.round(rec.duration_s)} s `;
      li.append(what);
      for (const f of rec.files) {
        const a = document.createElement('a');
        a.href = `${base}${f.url}`;
        a.download = '';
        a.textContent = `${f.name} (${Math.ceil(f.bytes / 1024)} KiB)`;
        li.append(a, ' ');
      }
      return li;
    }),
  );
}

await tick();
await recordings();
setInterval(tick, REFRESH_MS);
setInterval(recordings, RECORDINGS_MS);
setInterval(thumbs, THUMB_MS);
