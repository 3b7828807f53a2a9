import { Module } from '@nestjs/common';
import { HttpModule } from '../http/http.module';
import { SessionModule } from '../session/session.module';
import { LiveViewController } from './liveview.controller';
import { LiveViewGateway } from './liveview.gateway';
import { LiveViewService } from './liveview.service';

/**
 * Live views of sessions' desktops in a browser: links with one-time tokens, grant cookies, the
 * viewer page (noVNC), the WebSocket bridge to each desktop's VNC server that drops a viewer's
 * input unless it holds control, and take-over.
 */
@Module({
  imports: [SessionModule, HttpModule],
  controllers: [LiveViewController],
  providers: [LiveViewService, LiveViewGateway],
  exports: [LiveViewService],
})
export class LiveViewModule {}

export { LiveViewService } from './liveview.service';
export type { LiveViewLink, LiveViewState } from './liveview.service';
export { LIVE_VIEW_APP_META, LIVE_VIEW_APP_URI, MCP_APP_MIME_TYPE } from './liveview-app';
export type { LiveViewAppCsp, LiveViewAppTicket } from './liveview-app';
