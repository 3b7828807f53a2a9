import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { answerOnSocket } from '../common/socket-answer';
import { HttpAdapterHost } from '@nestjs/core';
import { type IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { errorMessage } from '../common/domain-error';
import { HostOriginPolicy } from '../http/http.module';
import { LiveViewForwarding } from './liveview-forwarding';
import { LiveViewService, VIEW_COOKIE } from './liveview.service';
import { cookieValue } from './view-cookie';

/** `/live/<viewId>/ws`: the page's RFB stream. */
const WS_PATH = /^\/live\/([A-Za-z0-9_-]{16})\/ws$/;
/** A link token (ViewGrants: 32 random bytes, base64url). */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** A viewer sends input and framebuffer requests: small messages. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * The live view's WebSocket: an upgrade to `/live/<viewId>/ws` is accepted when the live view is
 * on, its Host is one this server answers to, and either
 * - it comes from this server's own page (its Origin) with a grant cookie for that page, or
 * - it carries a link token (`?token=`), as the MCP App in a chat host does: its page runs at the
 *   host's sandbox origin (or an opaque one, `null`), where no cookie of ours can be had, so any
 *   Origin is accepted, and the token, good once and for a minute at most, is the only credential.
 * It is then bridged to the session's desktop. Anything else is refused with a plain HTTP status
 * before any WebSocket exists.
 */
@Injectable()
export class LiveViewGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('LiveView');
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly liveView: LiveViewService,
    private readonly hostOrigin: HostOriginPolicy,
    private readonly forwarding: LiveViewForwarding,
  ) {}

  onApplicationBootstrap(): void {
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    if (!(server instanceof Server)) return; // stdio: no HTTP server, no live view
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // A view another replica serves goes there whole; anything else is answered here.
      this.forwarding.upgradeElsewhere(req, socket, head).then(
        (forwarded) => forwarded || this.upgrade(req, socket, head),
        () => this.upgrade(req, socket, head),
      );
    });
    this.wss.on('error', (e) => this.logger.warn(`WebSocket server: ${errorMessage(e)}`));
  }

  onModuleDestroy() {
    this.wss.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    socket.on('error', () => undefined);
    const refuse = (status: number, why: string) => {
      this.logger.debug(`Refused a live-view WebSocket: ${why}`);
      answerOnSocket(socket, status, why);
    };
    const target = req.url ?? '';
    const q = target.indexOf('?');
    const m = WS_PATH.exec(q < 0 ? target : target.slice(0, q));
    if (!m || !this.liveView.enabled) return refuse(404, 'Not found.');
    const token = q < 0 ? null : new URLSearchParams(target.slice(q + 1)).get('token');
    if (token !== null) {
      const hostRefused = this.hostOrigin.hostRefusal(req);
      if (hostRefused) return refuse(403, hostRefused);
      const grant = TOKEN.test(token) ? this.liveView.appViews.open(m[1], token) : undefined;
      if (!grant) return refuse(403, 'Forbidden: this live-view token is unknown, used already or expired, or its session ended (a token works once, within a minute). Call live_view again.');
      return this.wss.handleUpgrade(req, socket, head, (ws) => void this.liveView.attach(grant, ws));
    }
    const refused = this.liveView.pageRequestRefusal(req, true);
    if (refused) return refuse(403, refused);
    const grant = this.liveView.grants.find(m[1], cookieValue(req, VIEW_COOKIE));
    if (!grant) return refuse(403, 'Forbidden: this browser has no live view of that session (the link expired, was used already, or the session ended). Ask for a new link with live_view.');
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.liveView.attach(grant, ws));
  }
}
