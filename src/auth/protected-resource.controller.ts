import { Controller, Get, Options, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InjectSettings } from '../config/config.module';
import { OAUTH_SETTINGS, type OAuthSettings } from './auth.settings';
import { protectedResourceMetadata } from './protected-resource';

const PREFIX = '/.well-known/oauth-protected-resource';

/**
 * `GET /.well-known/oauth-protected-resource` and its path-suffixed form for the resource's path
 * (`/.well-known/oauth-protected-resource/mcp`), RFC 9728: where MCP clients learn which
 * authorization server issues tokens for this server. Public (the same for everyone, readable
 * from browsers); 404 while OAuth is off.
 */
@Controller()
export class ProtectedResourceController {
  private readonly paths: ReadonlySet<string>;

  constructor(@InjectSettings(OAUTH_SETTINGS) private readonly settings: OAuthSettings) {
    const resourcePath = settings.enabled ? new URL(settings.resource).pathname.replace(/\/+$/, '') : '';
    this.paths = new Set([PREFIX, `${PREFIX}/mcp`, `${PREFIX}${resourcePath}`]);
  }

  @Get(['.well-known/oauth-protected-resource', '.well-known/oauth-protected-resource/*path'])
  metadata(@Req() req: Request, @Res() res: Response): void {
    if (!this.settings.enabled || !this.paths.has(req.path.replace(/\/+$/, ''))) {
      res.status(404).type('text/plain').send(this.settings.enabled ? 'Not found.\n' : 'Not found: this server does not use OAuth (OAUTH_ISSUER is not set).\n');
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.status(200).json(protectedResourceMetadata(this.settings));
  }

  /** A browser's CORS preflight (MCP clients send `MCP-Protocol-Version` with the request). */
  @Options(['.well-known/oauth-protected-resource', '.well-known/oauth-protected-resource/*path'])
  preflight(@Res() res: Response): void {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'GET');
    res.setHeader('Access-Control-Allow-Headers', 'MCP-Protocol-Version');
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
  }
}
