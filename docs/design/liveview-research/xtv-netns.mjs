// Xtigervnc in its own, empty network namespace with a display number we pick: is it reachable (X and RFB) from the host, and can an X client still make it connect out?
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, openSync, closeSync, existsSync } from 'node:fs';
import net from 'node:net';
import { RUN, xauth, sandboxed, xArgs, startX, waitRfb, stopProc, sleep } from './common.mjs';
const auth = `${RUN}/xa-ns`; rmSync(auth, { force: true }); xauth(auth);
const vdir = `${RUN}/vnc-ns`; mkdirSync(vdir, { recursive: true }); rmSync(`${vdir}/s.sock`, { force: true });
// the server picks the number: first N whose host lock file it can create exclusively and whose socket does not exist
let n = 40; for (;; n++) { if (existsSync(`/tmp/.X11-unix/X${n}`)) continue; try { closeSync(openSync(`/tmp/.X${n}-lock`, 'wx')); break; } catch {} }
const argv = xArgs('Xtigervnc', '/run/cua/vnc/s.sock').map((a) => a); argv.splice(1, 0, `:${n}`);
const line = sandboxed(argv, auth, vdir).filter((a) => a !== '--share-net');
const x = await startX(line);
await waitRfb(`${vdir}/s.sock`, x.t0);
const env = { DISPLAY: `:${n}`, XAUTHORITY: auth, PATH: '/usr/bin:/bin' };
console.log(`display :${x.display} (asked :${n}); X reachable from host:`, /dimensions/.test(execFileSync('xdpyinfo', { env }).toString()));
const listener = net.createServer((s) => { console.log('LISTENER: Xtigervnc connected out!'); s.destroy(); }).listen(5597, '127.0.0.1');
await new Promise((r) => listener.once('listening', r));
try { execFileSync('vncconfig', ['-connect', '127.0.0.1::5597'], { env, stdio: 'pipe' }); console.log('vncconfig -connect returned 0'); } catch (e) { console.log('vncconfig -connect failed:', e.stderr.toString().trim()); }
await sleep(1500);
listener.close();
const { childOf } = await import('./common.mjs'); const inner = childOf(x.proc.pid); const ts = performance.now(); process.kill(inner, 'SIGTERM'); await new Promise((r) => x.proc.once('exit', r)); console.log(`SIGTERM to the X server (inner pid) → bwrap exited after ${(performance.now() - ts).toFixed(1)} ms`); rmSync(`/tmp/.X${n}-lock`, { force: true });
console.log('socket file removed on SIGTERM:', !existsSync(`/tmp/.X11-unix/X${n}`), '| rfb socket removed:', !existsSync(`${vdir}/s.sock`));
