// The live view page: noVNC on this server's RFB bridge, and the take-over buttons. What a viewer
// may do is decided by the server (its bridge drops input unless this browser holds control);
// viewOnly here only keeps the page from sending what would be dropped anyway.
import RFB from '/live/assets/novnc.js';

const base = location.pathname.replace(/\/?$/, '/');
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${base}ws`;
const $ = (id) => document.getElementById(id);
const wantsControl = location.hash === '#control';
history.replaceState(null, '', base);

let rfb;
let connected = false;
let state;
let gone = false;

function show() {
  const control = state?.control ?? 'agent';
  document.body.dataset.control = control;
  document.body.dataset.connected = String(connected);
  $('session').textContent = state ? `Session ${state.session_id}` : 'Live view';
  let status;
  if (gone) status = state?.ended ? 'The session has ended.' : 'This live view has ended. Ask for a new link with live_view.';
  else if (!connected) status = 'Connecting…';
  else if (control === 'you') status = 'You have control: your mouse and keyboard reach the desktop; the agent waits.';
  else if (control === 'someone-else') status = 'Someone else has control.';
  else status = state?.running_tasks ? 'Watching: the agent is working.' : 'Watching.';
  $('status').textContent = status;
  $('take').hidden = gone || control !== 'agent';
  $('release').hidden = gone || control !== 'you';
  if (rfb) rfb.viewOnly = control !== 'you';
}

async function call(path, method = 'GET') {
  const r = await fetch(base + path, { method, credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 403 || r.status === 404) {
    gone = true;
    return undefined;
  }
  return r.ok ? r.json() : undefined;
}

async function refresh() {
  const s = await call('state').catch(() => undefined);
  if (s) state = s;
  if (state?.ended) gone = true;
  show();
}

function connect() {
  rfb = new RFB($('screen'), wsUrl, { shared: true });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.viewOnly = state?.control !== 'you';
  rfb.addEventListener('connect', () => {
    connected = true;
    show();
  });
  rfb.addEventListener('disconnect', () => {
    connected = false;
    rfb = undefined;
    show();
    // The desktop may have been replaced after a failure: try again while this view is still good.
    if (!gone) setTimeout(() => refresh().then(() => !gone && connect()), 2000);
  });
}

$('take').addEventListener('click', async () => {
  state = (await call('control/take', 'POST')) ?? state;
  show();
});
$('release').addEventListener('click', async () => {
  state = (await call('control/release', 'POST')) ?? state;
  show();
});
$('fullscreen').addEventListener('click', () => document.documentElement.requestFullscreen?.());

// Connect at once (watching), while the state arrives: the first frame need not wait for it.
connect();
await refresh();
if (!gone) {
  if (wantsControl && state?.control === 'agent') state = (await call('control/take', 'POST')) ?? state;
  show();
  setInterval(refresh, 1000);
}
