// Start time to ready: Xvfb vs Xtigervnc (displayfd, and RFB banner on the unix socket) vs X0tigervnc attached to a running Xvfb.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { RUN, xauth, sandboxed, xArgs, startX, waitRfb, stopProc, median, sleep } from './common.mjs';

const N = Number(process.argv[2] ?? 10);
const auth = `${RUN}/xa-start`; rmSync(auth, { force: true }); xauth(auth);
const vdir = `${RUN}/vnc-start`; mkdirSync(vdir, { recursive: true });
const res = {};
const add = (k, v) => (res[k] ??= []).push(v);

for (let i = 0; i < N; i++) {
  for (const sb of [false, true]) {
    const tag = sb ? 'bwrap' : 'plain';
    // Xvfb
    let x = await startX(sb ? sandboxed(xArgs('Xvfb'), auth) : xArgs('Xvfb').map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
    add(`${tag} Xvfb displayfd`, x.readyMs);
    // X0tigervnc attached on demand to that Xvfb (outside the sandbox, as the server would run it, or sandboxed too)
    const sock = `${vdir}/x0.sock`; rmSync(sock, { force: true });
    const x0argv = ['/usr/bin/X0tigervnc', '-display', `:${x.display}`, '-rfbunixpath', sb ? '/run/cua/vnc/x0.sock' : sock, '-rfbport', '-1', '-SecurityTypes', 'None', '-AlwaysShared'];
    const t0 = performance.now();
    const x0 = spawn(sb ? 'bwrap' : x0argv[0], sb ? sandboxed(x0argv, auth, vdir).slice(1) : x0argv.slice(1), { stdio: 'ignore', env: { XAUTHORITY: sb ? '/run/cua/Xauthority' : auth, PATH: '/usr/bin:/bin' } });
    add(`${tag} X0tigervnc attach → RFB banner`, await waitRfb(sock, t0));
    await stopProc(x0); await stopProc(x.proc); await sleep(30);
    // Xtigervnc
    const vs = `${vdir}/xtv.sock`; rmSync(vs, { force: true });
    x = await startX(sb ? sandboxed(xArgs('Xtigervnc', '/run/cua/vnc/xtv.sock'), auth, vdir) : xArgs('Xtigervnc', vs).map((a) => (a === '/run/cua/Xauthority' ? auth : a)));
    add(`${tag} Xtigervnc displayfd`, x.readyMs);
    add(`${tag} Xtigervnc → RFB banner`, await waitRfb(vs, x.t0));
    await stopProc(x.proc); await sleep(30);
  }
}
for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(40)} median ${median(v).toFixed(1)} ms  (min ${Math.min(...v).toFixed(1)}, max ${Math.max(...v).toFixed(1)}, n=${v.length})`);
