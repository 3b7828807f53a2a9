// Does Debian's chromium play our segments? canPlayType, duration, a decoded frame, and seeking.
import http from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { createRequire } from 'node:module';
const req = createRequire('/tmp/lvr/npm/package.json');
const { chromium } = req('playwright-core');
const files = process.argv.slice(2);
const server = http.createServer((rq, rs) => {
  const f = decodeURIComponent(new URL(rq.url, 'http://x').pathname);
  if (f === '/') { rs.writeHead(200, { 'content-type': 'text/html' }); return rs.end('<!doctype html><video id=v muted></video>'); }
  if (!f.startsWith('/tmp/lvr/rec/')) { rs.writeHead(404); return rs.end(); }
  const size = statSync(f).size; const type = f.endsWith('.webm') ? 'video/webm' : 'video/mp4';
  const m = /bytes=(\d+)-(\d*)/.exec(rq.headers.range ?? '');
  if (m) { const s = Number(m[1]), e = m[2] ? Number(m[2]) : size - 1; rs.writeHead(206, { 'content-type': type, 'content-range': `bytes ${s}-${e}/${size}`, 'accept-ranges': 'bytes', 'content-length': e - s + 1 }); return createReadStream(f, { start: s, end: e }).pipe(rs); }
  rs.writeHead(200, { 'content-type': type, 'accept-ranges': 'bytes', 'content-length': size }); createReadStream(f).pipe(rs);
}).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
console.log('canPlayType', JSON.stringify(await page.evaluate(() => ({ h264: document.createElement('video').canPlayType('video/mp4; codecs="avc1.640028"'), vp8: document.createElement('video').canPlayType('video/webm; codecs="vp8"'), vp9: document.createElement('video').canPlayType('video/webm; codecs="vp9"'), av1: document.createElement('video').canPlayType('video/mp4; codecs="av01.0.05M.08"') }))));
for (const f of files) {
  const r = await page.evaluate(async (src) => {
    const v = document.getElementById('v'); v.src = src;
    const ev = (n) => new Promise((res, rej) => { v.addEventListener(n, res, { once: true }); v.addEventListener('error', () => rej(new Error('media error ' + v.error?.code + ' ' + v.error?.message)), { once: true }); setTimeout(() => rej(new Error('timeout ' + n)), 8000); });
    try {
      await ev('loadeddata');
      const duration = v.duration; v.currentTime = Math.min(5, duration / 2); await ev('seeked');
      const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight; c.getContext('2d').drawImage(v, 0, 0);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) lit++;
      return { duration, size: `${v.videoWidth}x${v.videoHeight}`, seekedTo: v.currentTime, brightPixels: lit };
    } catch (e) { return { error: e.message }; }
  }, `${encodeURI(f)}`);
  console.log(f.replace('/tmp/lvr/rec/', ''), JSON.stringify(r));
}
await browser.close(); server.close();
