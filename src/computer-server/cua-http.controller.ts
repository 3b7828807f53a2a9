import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  CUA_HEADERS,
  CUA_MAX_MESSAGE_BYTES,
  CuaCommandsListing,
  cuaCommandsListing,
  cuaFeatures,
  CuaStatus,
  CUA_VNC_FEATURE,
  encodeCmdReply,
  parseCuaRequest,
} from '../cua-protocol';
import { CuaAuthenticator } from './cua-auth';
import { CuaCommandService } from './cua-commands.service';
import { CuaDispatcher } from './cua-dispatcher.service';
import { CuaOriginGuard } from './cua-origin.guard';
import { DesktopService } from './desktop.service';

const BODY_TIMEOUT_MS = 30_000;

class BodyTooLarge extends Error {}

/** Reads a request body up to `limit` bytes, within a timeout. */
function readBody(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => done(new Error('The request body did not arrive in time.')), BODY_TIMEOUT_MS);
    const done = (err?: Error) => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      if (err) {
        req.resume(); // drop the rest
        reject(err);
      } else resolve(Buffer.concat(chunks));
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) return done(new BodyTooLarge());
      chunks.push(c);
    });
    req.once('end', () => done());
    req.once('error', (e) => done(e));
  });
}

/** `GET /status`, `GET /commands` and `POST /cmd` (the commands over HTTP, one `data:` line per reply). */
@Controller()
export class CuaHttpController {
  constructor(
    private readonly dispatcher: CuaDispatcher,
    private readonly commands: CuaCommandService,
    private readonly auth: CuaAuthenticator,
    private readonly desktop: DesktopService,
    private readonly origins: CuaOriginGuard,
  ) {}

  /** 200 while the desktop works; 503 with `detail` once it has stopped (a probe can restart the pod). */
  @Get('status')
  async status(@Res() res: Response): Promise<void> {
    const computer = this.desktop.peek();
    if (!computer || !(await computer.isAlive())) {
      res.status(503).json({ detail: 'The desktop is not running; restart this server.' });
      return;
    }
    const features = cuaFeatures(this.commands.offered());
    if (computer.supports('openVnc')) features.push(CUA_VNC_FEATURE);
    const body: CuaStatus = { status: 'ok', os_type: 'linux', features };
    res.status(200).json(body);
  }

  @Get('commands')
  list(): CuaCommandsListing {
    return cuaCommandsListing(this.commands.offered());
  }

  @Post('cmd')
  async cmd(@Req() req: Request, @Res() res: Response): Promise<void> {
    const detail = (status: number, text: string) => {
      res.status(status).json({ detail: text });
    };
    const refused = this.origins.check(req.headers);
    if (refused) {
      req.resume();
      return detail(403, refused);
    }
    const problem = this.auth.check(req.header(CUA_HEADERS.apiKey), req.header(CUA_HEADERS.containerName));
    if (problem) {
      req.resume();
      return detail(401, problem);
    }
    if (this.dispatcher.isDraining) {
      req.resume();
      return detail(503, 'The server is shutting down');
    }
    let body: Buffer;
    try {
      body = await readBody(req, CUA_MAX_MESSAGE_BYTES);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close');
        return detail(413, `The request is larger than ${CUA_MAX_MESSAGE_BYTES} bytes`);
      }
      return detail(400, e instanceof Error ? e.message : String(e));
    }
    const parsed = parseCuaRequest(body.toString('utf8'));
    if (!parsed.ok) return detail(400, parsed.problem.error);
    // The request is abandoned if the client goes away before the reply.
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) gone.abort(new Error('The client disconnected.'));
    };
    res.once('close', onClose);
    const outcome = await this.dispatcher.run(parsed.request.command, parsed.request.params, gone.signal);
    if (outcome.kind === 'unknown') return detail(400, outcome.error);
    res.status(200).type('text/plain; charset=utf-8').send(encodeCmdReply(outcome.reply));
  }
}
