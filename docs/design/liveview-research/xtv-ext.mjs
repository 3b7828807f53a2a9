// Our in-process paths against a sandboxed Xtigervnc (as the provider would run it): MIT-SHM GetImage by fd (x11 package) and XTEST FakeInput.
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RUN, xauth, sandboxed, xArgs, startX, waitRfb, stopProc, median } from './common.mjs';
const reqp = createRequire('/work/wt-lvresearch/package.json');
const x11 = reqp('x11');
const { createBuiltinProvider } = reqp('x11/lib/shm-provider.js');
for (const kind of ['Xvfb', 'Xtigervnc']) {
  const auth = `${RUN}/xa-ext`; rmSync(auth, { force: true }); const cookie = xauth(auth);
  const vdir = `${RUN}/vnc-ext`; mkdirSync(vdir, { recursive: true }); rmSync(`${vdir}/s.sock`, { force: true });
  const x = await startX(sandboxed(xArgs(kind, '/run/cua/vnc/s.sock'), auth, vdir));
  if (kind === 'Xtigervnc') await waitRfb(`${vdir}/s.sock`, x.t0);
  const prov = createBuiltinProvider();
  const d = await new Promise((res, rej) => { const c = x11.createClient({ display: `:${x.display}`, auth: { name: 'MIT-MAGIC-COOKIE-1', data: cookie.toString('latin1') }, shm: prov }, (e, d) => (e ? rej(e) : res(d))); c.on('error', rej); });
  const X = d.client, root = d.screen[0].root;
  const shm = await new Promise((res, rej) => X.require('shm', (e, ext) => (e ? rej(e) : res(ext))));
  const seg = await new Promise((res, rej) => shm.createSegment(1280 * 800 * 4, (e, s) => (e ? rej(e) : res(s))));
  const t = [];
  for (let i = 0; i < 20; i++) { const t0 = performance.now(); await new Promise((res, rej) => seg.getImage(root, 0, 0, 1280, 800, 0xffffffff, 2, 0, (e) => (e ? rej(e) : res()))); t.push(performance.now() - t0); }
  const core = [];
  for (let i = 0; i < 10; i++) { const t0 = performance.now(); await new Promise((res, rej) => X.GetImage(2, root, 0, 0, 1280, 800, 0xffffffff, (e, img) => (e ? rej(e) : res(img)))); core.push(performance.now() - t0); }
  const xt = await new Promise((res, rej) => X.require('xtest', (e, ext) => (e ? rej(e) : res(ext))));
  xt.FakeInput(xt.MotionNotify, 0, 0, root, 321, 123);
  const ptr = await new Promise((res, rej) => X.QueryPointer(root, (e, p) => (e ? rej(e) : res(p))));
  console.log(`${kind} (bwrap, own IPC ns): MIT-SHM fd GetImage 1280x800 median ${median(t).toFixed(2)} ms, core GetImage median ${median(core).toFixed(2)} ms, XTEST motion → pointer at ${ptr.rootX},${ptr.rootY}; MIT-SHM version ${shm.major ?? '?'}.${shm.minor ?? '?'}`);
  X.terminate(); await stopProc(x.proc);
}
