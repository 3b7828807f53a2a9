// Dashboard thumbnail cost: MIT-SHM capture of 1280x800 + sharp resize to 320x200 JPEG/WebP.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { RUN, xauth, xArgs, startX, stopProc, desktop, median } from './common.mjs';
const reqp = createRequire('/work/wt-lvresearch/package.json');
const x11 = reqp('x11'); const sharp = reqp('sharp');
const { createBuiltinProvider } = reqp('x11/lib/shm-provider.js');
const W = 1280, H = 800;
const auth = `${RUN}/xa-th`; rmSync(auth, { force: true }); const cookie = xauth(auth);
const x = await startX(xArgs('Xvfb').map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
const env = { DISPLAY: `:${x.display}`, XAUTHORITY: auth, PATH: '/usr/bin:/bin', HOME: '/tmp' };
const kids = await desktop(env, ['-geometry', '120x40+0+0', '-e', 'sh', '-c', 'ls -laR /usr/share/doc | head -200; sleep 100']);
const { client, root, seg } = await new Promise((res, rej) => {
  const c = x11.createClient({ display: env.DISPLAY, auth: { name: 'MIT-MAGIC-COOKIE-1', data: cookie.toString('latin1') }, shm: createBuiltinProvider() }, (err, d) => {
    if (err) return rej(err);
    d.client.require('shm', (e, ext) => { if (e) return rej(e); ext.createSegment(W * H * 4, (e2, s) => (e2 ? rej(e2) : res({ client: d.client, root: d.screen[0].root, seg: s }))); });
  });
  c.on('error', rej);
});
const grab = () => new Promise((res, rej) => seg.getImage(root, 0, 0, W, H, 0xffffffff, 2, 0, (e) => (e ? rej(e) : res(seg.buffer))));
await new Promise((r) => setTimeout(r, 1000));
const r = { capture: [], jpeg: [], webp: [] }; let sizes = {};
for (let i = 0; i < 30; i++) {
  let t = performance.now(); const buf = await grab(); r.capture.push(performance.now() - t);
  const img = () => sharp(buf, { raw: { width: W, height: H, channels: 4 } }).removeAlpha().recomb([[0, 0, 1], [0, 1, 0], [1, 0, 0]]).resize(320, 200);
  t = performance.now(); const j = await img().jpeg({ quality: 70 }).toBuffer(); r.jpeg.push(performance.now() - t);
  t = performance.now(); const w = await img().webp({ quality: 70 }).toBuffer(); r.webp.push(performance.now() - t);
  sizes = { jpeg: j.length, webp: w.length };
}
const self = process.cpuUsage();
console.log(`capture (MIT-SHM) median ${median(r.capture).toFixed(1)} ms; resize 320x200 + JPEG q70 ${median(r.jpeg).toFixed(1)} ms (${sizes.jpeg} B); + WebP q70 ${median(r.webp).toFixed(1)} ms (${sizes.webp} B); process CPU for 30 of each: ${((self.user + self.system) / 1e6).toFixed(2)} s`);
client.terminate(); for (const k of kids) k.kill(); await stopProc(x.proc);
