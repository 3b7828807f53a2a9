// An RFB client that times a VNC server on a unix socket: each handshake step (version, security
// types, security result, ServerInit) and the first full update (first and last byte after the
// request), in ms. Usage: node docs/design/liveview-research/rfb-handshake.cjs <socket> [encodings, e.g. 7,16,5,0,-26,-254,-223,-224]
const net = require('net');
const [sock, encList] = process.argv.slice(2);
const encs = (encList || '7,16,5,0,-26,-254,-223,-224').split(',').map(Number);
const t0 = performance.now();
const s = net.connect(sock);
const st = {}; const mark = (k) => (st[k] = +(performance.now() - t0).toFixed(1));
let buf = Buffer.alloc(0), stage = 'version', tReq, tFirst, tLast, bytes = 0, tInit;
s.on('data', (d) => {
  if (stage === 'update') { bytes += d.length; tFirst ??= performance.now(); tLast = performance.now(); return; }
  buf = Buffer.concat([buf, d]);
  for (;;) {
    if (stage === 'version' && buf.length >= 12) { mark('version'); s.write('RFB 003.008\n'); buf = buf.subarray(12); stage = 'sectypes'; continue; }
    if (stage === 'sectypes' && buf.length >= 1 && buf.length >= 1 + buf[0]) { mark('sectypes'); const n = buf[0]; const types = [...buf.subarray(1, 1 + n)]; if (!types.includes(1)) throw new Error('no None: ' + types); s.write(Buffer.from([1])); buf = buf.subarray(1 + n); stage = 'secresult'; continue; }
    if (stage === 'secresult' && buf.length >= 4) { mark('secresult'); if (buf.readUInt32BE(0) !== 0) throw new Error('sec fail'); buf = buf.subarray(4); s.write(Buffer.from([1])); stage = 'serverinit'; continue; }
    if (stage === 'serverinit' && buf.length >= 24 && buf.length >= 24 + buf.readUInt32BE(20)) {
      const w = buf.readUInt16BE(0), h = buf.readUInt16BE(2); buf = buf.subarray(24 + buf.readUInt32BE(20));
      tInit = performance.now(); mark('serverinit');
      const se = Buffer.alloc(4 + 4 * encs.length); se[0] = 2; se.writeUInt16BE(encs.length, 2); encs.forEach((e, i) => se.writeInt32BE(e, 4 + 4 * i));
      const req = Buffer.from([3, 0, 0, 0, 0, 0, w >> 8, w & 255, h >> 8, h & 255]);
      s.write(Buffer.concat([se, req])); tReq = performance.now(); stage = 'update';
      if (buf.length) { bytes += buf.length; tFirst = tLast = performance.now(); }
      setTimeout(function check() { if (tLast && performance.now() - tLast > 300) { console.log(JSON.stringify({ ...st, handshake: +(tInit - t0).toFixed(1), firstByte: +(tFirst - tReq).toFixed(1), lastByte: +(tLast - tReq).toFixed(1), bytes })); s.destroy(); } else setTimeout(check, 50); }, 50);
      return;
    }
    return;
  }
});
