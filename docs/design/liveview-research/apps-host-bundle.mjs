import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const webpack = require('/work/wt-lvresearch/node_modules/webpack');
webpack({ mode: 'production', context: new URL('.', import.meta.url).pathname, entry: './apps-host-entry.mjs', resolve: { modules: ['/tmp/lvr/npm/node_modules'] }, output: { path: '/tmp/lvr/hosttest/dist', filename: 'host.js' }, target: 'web', devtool: false, performance: { hints: false } },
  (err, stats) => { if (err || stats.hasErrors()) { console.error(err || stats.toString('errors-only')); process.exit(1); } console.log(stats.toString({ colors: false, modules: false, assets: true }).split('\n').slice(0, 3).join('\n')); });
