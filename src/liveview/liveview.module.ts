import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { ClusterModule } from '../cluster/cluster.module';
import { LiveViewForwarding } from './liveview-forwarding';
import { ComputerModule } from '../computer/computer.module';
import { HttpModule } from '../http/http.module';
import { RecordingModule } from '../recording/recording.module';
import { SessionModule } from '../session/session.module';
import { TaskModule } from '../task/task.module';
import { DashboardController } from './dashboard.controller';
import { DashboardService } from './dashboard.service';
import { LiveViewController } from './liveview.controller';
import { LiveViewGateway } from './liveview.gateway';
import { LiveViewService } from './liveview.service';
import { NoVncBundle } from './novnc-bundle';
import { Thumbnails } from './thumbnails';

/**
 * Live views of sessions' desktops in a browser: links with one-time tokens, grant cookies, the
 * viewer page (noVNC), the WebSocket bridge to each desktop's VNC server that drops a viewer's
 * input unless it holds control, and take-over; and the sessions dashboard of each principal
 * (thumbnails, running tasks, last actions, a click to a session's live view, its recordings to download).
 */
@Module({
  imports: [SessionModule, HttpModule, ComputerModule, TaskModule, RecordingModule, ClusterModule],
  controllers: [DashboardController, LiveViewController],
  providers: [NoVncBundle, LiveViewService, LiveViewForwarding, LiveViewGateway, DashboardService, Thumbnails],
  exports: [LiveViewService, DashboardService],
})
export class LiveViewModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(LiveViewForwarding).forRoutes({ path: 'live/*path', method: RequestMethod.ALL });
  }
}

export { LiveViewService } from './liveview.service';
export type { LiveViewLink, LiveViewState } from './liveview.service';
export { DashboardService } from './dashboard.service';
export type { DashboardSession, DashboardState, ToolCallNote } from './dashboard.service';
export { LIVE_VIEW_APP_META, LIVE_VIEW_APP_URI, MCP_APP_MIME_TYPE } from './liveview-app';
export type { LiveViewAppCsp, LiveViewAppTicket } from './liveview-app';
