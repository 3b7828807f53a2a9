// The live view inside a chat (an MCP App). This page runs in the host's sandboxed frame, at an
// origin that is not this server's, so no cookie of ours reaches it: it takes the token that the
// live_view result carries for it (in _meta), opens the WebSocket with it (the token works once),
// and calls live_view_control through the host, over the person's own MCP connection, for its
// buttons and to learn who holds control. As on the page, what a viewer may do is decided by the
// server; viewOnly here only keeps noVNC from sending what would be dropped anyway.
import RFB from './novnc.js';
import { App, applyHostStyleVariables } from './ext-apps/app-with-deps.js';

const META = 'cua-mcp-server/live-view';
const POLL_MS = 2000;
const RECONNECT_MS = 2000;
const $ = (id) => document.getElementById(id);

const app = new App({ name: 'cua-mcp-server live view', version: '1.0.0' }, { availableDisplayModes: ['inline', 'fullscreen'] });

let sessionId;
/** The token the connected view opened with: it names this view in live_view_control. */
let handle;
let state;
let rfb;
let connected = false;
let wantsControl = false;
let mode = 'inline';
/** Why this view ended, once it has. */
let gone;
/** A refusal to show until the next state. */
let notice;
let poller;

function show() {
  const control = state?.control ?? 'agent';
  document.body.dataset.control = control;
  document.body.dataset.connected = String(connected);
  document.body.dataset.mode = mode;
  $('session').textContent = sessionId ? `Session ${sessionId}` : 'Live view';
  let status;
  if (gone) status = gone;
  else if (notice) status = notice;
  else if (!sessionId) status = 'Waiting for the live view…';
  else if (!connected) status = 'Connecting…';
  else if (control === 'you') status = 'You have control: your mouse and keyboard reach the desktop; the agent waits.';
  else if (control === 'someone-else') status = 'Someone else has control.';
  else status = state?.running_tasks ? 'Watching: the agent is working.' : 'Watching.';
  $('status').textContent = status;
  $('take').hidden = Boolean(gone) || !connected || control !== 'agent';
  $('release').hidden = Boolean(gone) || control !== 'you';
  $('fullscreen').hidden = !(app.getHostContext()?.availableDisplayModes ?? []).includes('fullscreen');
  $('fullscreen').textContent = mode === 'fullscreen' ? 'Exit fullscreen' : 'Fullscreen';
  if (rfb) rfb.viewOnly = control !== 'you';
}

function end(why) {
  gone = why;
  clearInterval(poller);
  rfb?.disconnect();
  show();
}

const textOf = (result) => (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

/** Calls live_view_control for this view; its result, or undefined (the view ended, or the call was refused). */
async function control(action) {
  let result;
  try {
    result = await app.callServerTool({ name: 'live_view_control', arguments: { token: handle, action } });
  } catch {
    return undefined; // the host could not reach the server this time
  }
  if (result.isError) {
    const text = textOf(result);
    if (text.startsWith('[INVALID_ARGUMENT]')) end('This live view has ended. Ask for a new one with live_view.');
    else notice = text.replace(/^\[[A-Z_]+\]\s*/, '');
    show();
    return undefined;
  }
  notice = undefined;
  state = result.structuredContent;
  if (state.ended) end('The session has ended.');
  show();
  return result;
}

function connect(ticket) {
  const r = new RFB($('screen'), `${ticket.websocket}?token=${encodeURIComponent(ticket.token)}`, { shared: true });
  rfb = r;
  r.scaleViewport = true;
  r.resizeSession = false;
  r.viewOnly = state?.control !== 'you';
  r.addEventListener('connect', async () => {
    connected = true;
    handle = ticket.token;
    await control('state');
    if (wantsControl && state?.control === 'agent') await control('take');
    wantsControl = false;
    poller ??= setInterval(() => void control('state'), POLL_MS);
    show();
  });
  r.addEventListener('disconnect', async () => {
    connected = false;
    if (rfb === r) rfb = undefined;
    show();
    if (gone) return;
    if (!handle) return end('The live view could not reach the desktop: its token was used already or expired. Ask for a new one with live_view.');
    // The desktop may have been replaced after a failure: come back with a new token while the view is still good.
    const result = await control('reconnect');
    const next = result?._meta?.[META];
    if (!gone && next) setTimeout(() => !gone && connect(next), RECONNECT_MS);
  });
}

app.ontoolresult = (result) => {
  if (sessionId || gone) return; // one view per frame
  const ticket = result._meta?.[META];
  if (result.isError || !ticket) return end(textOf(result) || 'live_view gave this view nothing to show.');
  sessionId = result.structuredContent?.session_id;
  wantsControl = result.structuredContent?.control === true;
  connect(ticket);
  show();
};

app.onhostcontextchanged = (context) => {
  if (context.displayMode) mode = context.displayMode;
  if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
  show();
};

app.onteardown = async () => {
  end('Closed.');
  return {};
};

$('take').addEventListener('click', () => void control('take'));
$('release').addEventListener('click', () => void control('release'));
$('fullscreen').addEventListener('click', async () => {
  try {
    mode = (await app.requestDisplayMode({ mode: mode === 'fullscreen' ? 'inline' : 'fullscreen' })).mode;
  } catch {
    // The host said no: stay as we are.
  }
  show();
});

await app.connect();
const context = app.getHostContext();
mode = context?.displayMode ?? 'inline';
if (context?.styles?.variables) applyHostStyleVariables(context.styles.variables);
show();
