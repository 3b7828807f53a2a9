import { Injectable, Logger, NestMiddleware, OnApplicationBootstrap } from '@nestjs/common';
import { answerOnSocket } from '../common/socket-answer';
import { HttpAdapterHost } from '@nestjs/core';
import { type IncomingMessage, Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ClusterListener, ClusterProxy, ThisReplica } from '../cluster/cluster.module';
import { errorMessage } from '../common/domain-error';
import { dashboardKey } from './dashboard.service';
import { LiveViewService, viewKey } from './liveview.service';

/** A live view's own paths: `/live/<viewId>` and below (not the shared assets). */
const VIEW_PATH = /^\/live\/([A-Za-z0-9_-]{16})(?:[/?]|$)/;
/** A sessions dashboard's own paths: `/live/dashboard/<dashboardId>` and below (not its assets). */
const DASHBOARD_PATH = /^\/live\/dashboard\/([A-Za-z0-9_-]{22})(?:[/?]|$)/;

/**
 * Live views across replicas (CLUSTER_PORT). A session's live view is served where its desktop is: the page's
 * grants, the viewers and the VNC bridge live in that replica. Its id is pinned to that replica in the directory
 * when a link is made, so a browser's request for it that reaches another replica — the page, its state, taking
 * control, the WebSocket — is sent there whole (ClusterProxy) and answered from there. The owner takes such a
 * request on its cluster port and serves it as if it had come in directly: the same routes, the same checks.
 */
@Injectable()
export class LiveViewForwarding implements NestMiddleware, OnApplicationBootstrap {
  private readonly logger = new Logger('LiveView');
  private server?: Server;

  constructor(
    private readonly liveView: LiveViewService,
    private readonly proxy: ClusterProxy,
    private readonly listener: ClusterListener,
    private readonly replica: ThisReplica,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    const server: unknown = this.adapterHost.httpAdapter?.getHttpServer();
    if (!(server instanceof Server) || !this.listener.enabled) return;
    this.server = server;
    this.listener.serveHttp((req, target, answer) => this.serveForwarded(req, target, answer));
  }

  /** Middleware on `/live`: a request for a live view another replica serves goes there; the rest goes on here. */
  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const key = this.elsewhereCandidate(req) ?? this.dashboardElsewhere(req);
    if (!key) return next();
    this.proxy.servedElsewhere(key).then(
      (owner) => (owner ? this.proxy.forwardHttp(owner, req, res) : next()),
      (e: unknown) => {
        this.logger.debug(`Could not tell which replica serves ${key}: ${errorMessage(e)}`);
        next();
      },
    );
  }

  /** The pin key of a sessions dashboard another replica made (its grants live there), when forwarding could apply. */
  private dashboardElsewhere(req: IncomingMessage): string | undefined {
    if (!this.proxy.enabled || !this.liveView.enabled) return undefined;
    const id = DASHBOARD_PATH.exec(req.url ?? '')?.[1];
    return id && !this.liveView.grants.knowsDashboard(id) ? dashboardKey(id) : undefined;
  }

  /**
   * A WebSocket upgrade for a live view another replica serves: forwarded, and true; false when this replica
   * answers it (it knows the view, or nobody else does).
   */
  async upgradeElsewhere(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const key = this.elsewhereCandidate(req);
    if (!key) return false;
    const owner = await this.proxy.servedElsewhere(key).catch(() => undefined);
    if (!owner) return false;
    this.proxy.forwardUpgrade(owner, req, socket, head);
    return true;
  }

  /** The pin key of a live-view request this replica does not serve, when forwarding could apply. */
  private elsewhereCandidate(req: IncomingMessage): string | undefined {
    if (!this.proxy.enabled || !this.liveView.enabled) return undefined;
    const viewId = VIEW_PATH.exec(req.url ?? '')?.[1];
    return viewId && !this.liveView.grants.knows(viewId) ? viewKey(viewId) : undefined;
  }

  /** A live-view request another replica sent here: served by this replica's own routes and checks. */
  private serveForwarded(req: IncomingMessage, target: string, answer: { res: ServerResponse } | { socket: Duplex; head: Buffer }): void {
    const server = this.server;
    if (target !== this.replica.owner || !server) {
      const why = `This request was meant for replica ${target}, which is no longer running here. Open a new link with live_view.`;
      if ('res' in answer) {
        answer.res.writeHead(409, { 'Content-Type': 'text/plain; charset=utf-8' });
        return void answer.res.end(why);
      }
      return answerOnSocket(answer.socket, 409, why);
    }
    if ('res' in answer) server.emit('request', req, answer.res);
    else server.emit('upgrade', req, answer.socket, answer.head);
  }
}
