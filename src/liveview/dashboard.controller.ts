import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { join } from 'node:path';
import { errorMessage, isDomainError } from '../common/domain-error';
import { RecordingService } from '../recording/recording.module';
import type { Session } from '../session/session.module';
import { DashboardService } from './dashboard.service';
import { LiveViewService } from './liveview.service';
import type { DashboardGrant } from './view-grants';
import { cookieValue, pageCookie } from './view-cookie';

/** The cookie that holds a browser's grant for a principal's dashboard. */
export const DASHBOARD_COOKIE = 'cua_dashboard';
const ASSETS = join(__dirname, 'assets');
const DASHBOARD_ID = /^[A-Za-z0-9_-]{22}$/;
const VIEW_ID = /^[A-Za-z0-9_-]{16}$/;
const THUMB = /^([A-Za-z0-9_-]{16})\.jpg$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** Shown in place of a thumbnail while a desktop cannot be captured (still starting, or its computer failed). */
const PLACEHOLDER = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" viewBox="0 0 320 200"><rect width="320" height="200" fill="#23262e"/>' +
    '<text x="160" y="105" fill="#a9b1c2" font-family="sans-serif" font-size="14" text-anchor="middle">No picture of this desktop right now</text></svg>',
);

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="stylesheet" href="/live/dashboard/assets/dashboard.css"></head><body class="notice"><main><h1>${title}</h1><p>${body}</p></main></body></html>`;
const ASK_AGAIN = 'Ask for a new one with the <code>dashboard</code> tool.';

/**
 * The sessions dashboard: `/live/dashboard/<id>/?token=…` (a link from `dashboard`) swaps its
 * token for a grant cookie scoped to that dashboard's path and moves on to `/live/dashboard/<id>/`,
 * the page. The page reads `sessions` (JSON) and `thumb/<viewId>.jpg`, and a click on a session
 * POSTs `open/<viewId>` for a one-time link to that session's live view. Every call of a
 * dashboard's path needs its cookie and answers about the cookie's principal's sessions only; the
 * assets are public (they hold nothing of anyone's).
 */
@Controller('live/dashboard')
export class DashboardController {
  constructor(
    private readonly liveView: LiveViewService,
    private readonly dashboard: DashboardService,
    private readonly recordings: RecordingService,
  ) {}

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() res: Response) {
    if (!/^dashboard\.(js|css)$/.test(file)) return res.status(404).end();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(file, { root: ASSETS }, (e) => e && !res.headersSent && res.status(404).end());
  }

  @Get(':id')
  open(@Param('id') id: string, @Query('token') token: unknown, @Req() req: Request, @Res() res: Response) {
    this.pageHeaders(res);
    if (!this.liveView.enabled || !DASHBOARD_ID.test(id)) return res.status(404).send(page('Not found', 'There is no dashboard here.'));
    const refused = this.liveView.pageRequestRefusal(req, false);
    if (refused) return res.status(403).send(page('Forbidden', refused));
    if (typeof token === 'string') {
      const grant = TOKEN.test(token) ? this.liveView.grants.redeemDashboard(id, token) : undefined;
      if (!grant) return res.status(403).send(page('This link no longer works', `A dashboard link works once and for a minute at most. ${ASK_AGAIN}`));
      // As for the live view: the cookie comes with this answer, and the page moves on by itself
      // (a navigation of this site, so the SameSite=Strict cookie goes along) without the token.
      res.setHeader('Set-Cookie', pageCookie(DASHBOARD_COOKIE, grant.id, `/live/dashboard/${id}/`, grant.expiresAt - Date.now()));
      return res.status(200).send('<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=./"><title>Opening the dashboard…</title></head><body></body></html>');
    }
    if (!this.grantOf(id, req)) return res.status(403).send(page('No dashboard', `This browser has no dashboard here: its link expired or was used already. ${ASK_AGAIN}`));
    res.sendFile('dashboard.html', { root: ASSETS });
  }

  @Get(':id/sessions')
  async sessions(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.call(id, req, res, false);
    if (grant) res.json(await this.dashboard.state(grant));
  }

  @Get(':id/thumb/:file')
  async thumbnail(@Param('id') id: string, @Param('file') file: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.call(id, req, res, false);
    if (!grant) return;
    const viewId = THUMB.exec(file)?.[1];
    // A session another replica holds: its thumbnail comes from there.
    const elsewhere = viewId === undefined ? undefined : this.dashboard.heldElsewhere(grant, viewId);
    const session = elsewhere ? undefined : this.sessionOf(grant, viewId, res);
    if (!elsewhere && !session) return;
    const jpeg = elsewhere ? await this.dashboard.remoteThumbnail(grant, elsewhere, viewId!) : await this.dashboard.thumbnail(session!);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'");
    if (jpeg) return res.type('image/jpeg').send(jpeg);
    res.setHeader('X-Thumbnail', 'placeholder');
    res.type('image/svg+xml').send(PLACEHOLDER);
  }

  /** The principal's recordings (RECORDING=true), newest first, with a download address per file. */
  @Get(':id/recordings')
  async recordingList(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.call(id, req, res, false);
    if (!grant) return;
    // Off, or the link was asked for without the permission recordings:read: the page shows no recordings.
    if (!this.recordings.enabled || !grant.recordings) return res.json({ enabled: false, recordings: [] });
    const list = (await this.recordings.list(grant.principal)).sort((a, b) => b.meta.started_at.localeCompare(a.meta.started_at));
    res.json({
      enabled: true,
      recordings: list.map(({ meta, files }) => ({
        session_id: meta.session_id,
        recording_id: meta.recording_id,
        status: meta.status,
        started_at: meta.started_at,
        ended_at: meta.ended_at ?? null,
        duration_s: meta.video.duration_s,
        files: files.map((f) => ({ name: f.name, bytes: f.bytes, url: `recordings/${encodeURIComponent(meta.session_id)}/${meta.recording_id}/${f.name}` })),
      })),
    });
  }

  /** One file of one of the principal's recordings, as a download; another principal's is not found, whatever its ids. */
  @Get(':id/recordings/:sessionId/:recordingId/:file')
  async recordingFile(@Param('id') id: string, @Param('sessionId') sessionId: string, @Param('recordingId') recordingId: string, @Param('file') file: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.call(id, req, res, false);
    if (!grant) return;
    if (!grant.recordings) {
      return res.status(403).json({ error: 'This dashboard was opened without the permission recordings:read, so it cannot download recordings. Ask for a dashboard link with credentials that carry it.' });
    }
    const download = this.recordings.enabled ? await this.recordings.open({ principal: grant.principal, sessionId, recordingId }, file) : undefined;
    if (!download) return res.status(404).json({ error: 'You have no such recording file (it may have been deleted after its retention).' });
    res.setHeader('Content-Type', download.mimeType);
    res.setHeader('Content-Length', String(download.bytes));
    res.setHeader('Content-Disposition', `attachment; filename="${`${sessionId}-${recordingId}-${file}`.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'");
    download.stream.on('error', () => res.destroy());
    res.on('close', () => download.stream.destroy());
    download.stream.pipe(res);
  }

  @Post(':id/open/:viewId')
  @HttpCode(200)
  async openLiveView(@Param('id') id: string, @Param('viewId') viewId: string, @Req() req: Request, @Res() res: Response) {
    const grant = this.call(id, req, res, true);
    if (!grant) return;
    const elsewhere = this.dashboard.heldElsewhere(grant, viewId);
    const session = elsewhere ? undefined : this.sessionOf(grant, viewId, res);
    if (!elsewhere && !session) return;
    try {
      const link = elsewhere ? await this.dashboard.remoteLiveView(grant, elsewhere, viewId) : await this.dashboard.openLiveView(session!);
      res.json({ url: link.url, expires_at: new Date(link.expiresAt).toISOString() });
    } catch (e) {
      if (!isDomainError(e)) throw e;
      res.status(409).json({ error: errorMessage(e), code: e.code });
    }
  }

  /** A call from the dashboard page: its grant, or the refusal already sent. Calls that change something must show the page's Origin. */
  private call(id: string, req: Request, res: Response, changes: boolean): DashboardGrant | undefined {
    res.setHeader('Cache-Control', 'no-store');
    if (!this.liveView.enabled || !DASHBOARD_ID.test(id)) return void res.status(404).json({ error: 'There is no dashboard here.' });
    const refused = this.liveView.pageRequestRefusal(req, changes);
    if (refused) return void res.status(403).json({ error: refused });
    const grant = this.grantOf(id, req);
    if (!grant) return void res.status(403).json({ error: 'This browser has no dashboard here any more. Ask for a new link with the dashboard tool.' });
    return grant;
  }

  /** The grant's principal's session with this view id, or the 404 already sent (another principal's session is not found either). */
  private sessionOf(grant: DashboardGrant, viewId: string | undefined, res: Response): Session | undefined {
    const session = viewId !== undefined && VIEW_ID.test(viewId) ? this.dashboard.sessionOf(grant, viewId) : undefined;
    if (!session) res.status(404).json({ error: 'You have no such session (it may have ended).' });
    return session;
  }

  private grantOf(id: string, req: Request): DashboardGrant | undefined {
    return this.liveView.grants.findDashboard(id, cookieValue(req, DASHBOARD_COOKIE));
  }

  /** As the live view's pages: not cached, no referrer, only this server's own scripts, styles, pictures and calls; never in a frame. */
  private pageHeaders(res: Response) {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  }
}
