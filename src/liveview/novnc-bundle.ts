import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { build, stop } from 'esbuild';
import { errorMessage } from '../common/domain-error';
import { InjectSettings } from '../config/config.module';
import { LIVE_VIEW_SETTINGS, type LiveViewSettings } from './liveview.settings';

/** noVNC's entry module as the controller serves it (assets/novnc/...). */
const NOVNC_ENTRY_URL = '/live/assets/novnc/core/rfb.js';
/** What the pages import when the bundle could not be built: noVNC's own modules, one request each. */
const FALLBACK = Buffer.from(`export { default } from ${JSON.stringify(NOVNC_ENTRY_URL)};\n`);

/**
 * noVNC (the pages' VNC client) as one minified ES module, built once at boot with esbuild (about
 * 0.1 s). A cold page then loads one file instead of noVNC's ~50 modules, which the browser finds
 * import by import: that was most of the time to the live view's first frame (BENCHMARKS.md, Live
 * view). Should the build fail, the pages get a module that imports noVNC's own files instead.
 */
@Injectable()
export class NoVncBundle implements OnModuleInit {
  private readonly logger = new Logger('LiveView');
  private code: Buffer = FALLBACK;

  constructor(@InjectSettings(LIVE_VIEW_SETTINGS) private readonly settings: LiveViewSettings) {}

  async onModuleInit() {
    if (!this.settings.enabled) return;
    try {
      const out = await build({
        entryPoints: [require.resolve('@novnc/novnc')],
        bundle: true,
        format: 'esm',
        // noVNC uses top-level await (core/util/browser.js): ES2022.
        target: 'es2022',
        minify: true,
        write: false,
        logLevel: 'silent',
      });
      this.code = Buffer.from(out.outputFiles[0].contents);
    } catch (e) {
      this.logger.warn(`Could not bundle noVNC (${errorMessage(e)}); the live view loads its modules one by one instead.`);
    } finally {
      // esbuild's API keeps a helper process for later builds: there are none, so end it now.
      await stop();
    }
  }

  /** The module the pages import as `/live/assets/novnc.js`. */
  get module(): Buffer {
    return this.code;
  }
}
