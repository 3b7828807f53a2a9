import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
// Measurement only: one-file bundle of noVNC's RFB with the webpack that @nestjs/cli already brings, to see what bundling saves.
const webpack = require('/work/wt-lvresearch/node_modules/webpack');
webpack({
  mode: 'production', entry: '/tmp/lvr/npm/node_modules/@novnc/novnc/core/rfb.js',
  output: { path: '/tmp/lvr/bundle', filename: 'rfb.bundle.js', library: { type: 'module' } },
  experiments: { outputModule: true }, target: 'web', devtool: false,
}, (err, stats) => { if (err || stats.hasErrors()) { console.error(err || stats.toString()); process.exit(1); } console.log(stats.toString({ colors: false, modules: false })); });
