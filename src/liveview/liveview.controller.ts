import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { dirname, join } from 'node:path';
import { LiveViewService, VIEW_COOKIE } from './liveview.service';
import { NoVncBundle } from './novnc-bundle';
import type { ViewGrant } from './view-grants';
import { cookieValue, grantCookie } from './view-cookie';

const ASSETS = join(__dirname, 'assets');
/** noVNC's browser modules (`core/`, `vendor/`), served as they are published. */
const NOVNC = dirname(dirname(require.resolve('@novnc/novnc'))); // its entry is core/rfb.js
/** The MCP Apps client (`App`) as one browser module with its dependencies, for the live view's MCP App. */
const EXT_APPS_CLIENT = require.resolve('@modelcontextprotocol/ext-apps/app-with-deps');
const VIEW_ID = /^[A-Za-z0-9_-]{16}$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/live/assets/viewer.css"></head><body class="notice"><main><h1>${title}</h1><p>${body}</p></main></body></html>`;

/**
 * The live view's pages: `/live/<viewId>/?token=…` (a link from `live_view`) swaps its token for
 * a grant cookie and moves on to `/live/<viewId>/`, the viewer (noVNC on the RFB bridge);
 * `state` and `control/take|release` serve its buttons. Every page and call of a session's path
 * needs that path's grant cookie; the assets are public (they hold nothing of a session), and
 * readable from any origin: the MCP App in a chat host loads its modules from here.
 */
@Controller('live')
export class LiveViewController {
  constructor(
    private readonly liveView: LiveViewService,
    private readonly novncBundle: NoVncBundle,
  ) {}

  /** noVNC in one file (see NoVncBundle), what the pages import. */
  @Get('assets/novnc.js')
  novncModule(@Res() res: Response) {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.type('text/javascript').send(this.novncBundle.module);
  }

  @Get('assets/novnc/{*file}')
  novnc(@Param('file') file: string[], @Res() res: Response) {
    const path = file.join('/');
    if (!/^(core|vendor)\/[\w./-]+\.js$/.test(path) || path.includes('..')) return res.status(404).end();
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.sendFile(path, { root: NOVNC, dotfiles: 'deny' }, (e) => e && !res.headersSent && res.status(404).end());
  }

  @Get('assets/ext-apps/app-with-deps.js')
  extApps(@Res() res: Response) {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.sendFile(EXT_APPS_CLIENT, (e) => e && !res.headersSent && res.status(404).end());
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() res: Response) {
    if (!/^(viewer\.(js|css)|app\.js)$/.test(file)) return res.status(404).end();
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.sendFile(file, { root: ASSETS }, (e) => e && !res.headersSent && res.status(404).end());
  }

  @Get(':viewId')
  open(@Param('viewId') viewId: string, @Query('token') token: unknown, @Req() req: Request, @Res() res: Response) {
    this.pageHeaders(req, res);
    if (!this.liveView.enabled || !VIEW_ID.test(viewId)) return res.status(404).send(page('Not found', 'There is no live view here.'));
    const hostRefused = this.liveView.pageRequestRefusal(req, false);
    if (hostRefused) return res.status(403).send(page('Forbidden', hostRefused));
    if (typeof token === 'string') {
      const grant = TOKEN.test(token) ? this.liveView.grants.redeem(viewId, token) : undefined;
      if (!grant) {
        return res
          .status(403)
          .send(page('This link no longer works', 'A live-view link works once and for a minute at most, and only while its session lasts. Ask for a new one with the <code>live_view</code> tool.'));
      }
      // The cookie is set on this answer; the page then moves on by itself (a navigation of this
      // site, so the SameSite=Strict cookie goes along) and the token leaves the address bar.
      res.setHeader('Set-Cookie', grantCookie(VIEW_COOKIE, grant.id, viewId, grant.expiresAt - Date.now()));
      return res.status(200).send(`<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=./${grant.control ? '#control' : ''}"><title>Opening the live view…</title></head><body></body></html>`);
    }
    const grant = this.grantOf(viewId, req);
    if (!grant) {
      return res.status(403).send(page('No live view', 'This browser has no live view of that session: its link expired, was used already, or the session ended. Ask for a new one with the <code>live_view</code> tool.'));
    }
    res.sendFile('viewer.html', { root: ASSETS });
  }

  @Get(':viewId/state')
  state(@Param('viewId') viewId: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.pageCall(viewId, req, res, false);
    if (grant) res.json(this.liveView.state(grant));
  }

  @Post(':viewId/control/take')
  @HttpCode(200)
  take(@Param('viewId') viewId: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.pageCall(viewId, req, res, true);
    if (grant) res.json(this.liveView.takeControl(grant));
  }

  @Post(':viewId/control/release')
  @HttpCode(200)
  release(@Param('viewId') viewId: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.pageCall(viewId, req, res, true);
    if (grant) res.json(this.liveView.releaseControl(grant));
  }

  /** A call from the viewer page: its grant, or the refusal already sent. Calls that change something must show the page's Origin. */
  private pageCall(viewId: string, req: Request, res: Response, changes: boolean): ViewGrant | undefined {
    res.setHeader('Cache-Control', 'no-store');
    if (!this.liveView.enabled || !VIEW_ID.test(viewId)) return void res.status(404).json({ error: 'There is no live view here.' });
    const refused = this.liveView.pageRequestRefusal(req, changes);
    if (refused) return void res.status(403).json({ error: refused });
    const grant = this.grantOf(viewId, req);
    if (!grant) return void res.status(403).json({ error: 'This browser has no live view of that session any more. Ask for a new link with live_view.' });
    return grant;
  }

  private grantOf(viewId: string, req: Request): ViewGrant | undefined {
    return this.liveView.grants.find(viewId, cookieValue(req, VIEW_COOKIE));
  }

  private pageHeaders(req: Request, res: Response) {
    const host = req.headers.host ?? '';
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws://${host} wss://${host}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    );
  }
}
