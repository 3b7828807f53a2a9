import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ProtocolError, ProtocolErrorCode, ResourceTemplate, type ReadResourceResult } from '@modelcontextprotocol/server';
import { RecordingRef, RecordingService } from '../recording/recording.module';
import { toProtocolError } from './mcp-errors';
import type { ToolContext } from './tool-context';
import { RECORDINGS_PERMISSION, recordingsDenial } from './tool-permissions';
import { ToolCallEvent, ToolRunner } from './tools/tool-runner';

/** The MCP resource of a recording (or of one of its files). The session id is percent-encoded. */
export function recordingUri(sessionId: string, recordingId: string, file?: string): string {
  return `recording://${encodeURIComponent(sessionId)}/${recordingId}${file ? `/${file}` : ''}`;
}

type Variables = Record<string, string | string[]>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? '';

/**
 * With RECORDING=true: each MCP server instance lists and reads its principal's recordings (with the permission
 * recordings:read) as resources
 * `recording://{session_id}/{recording_id}` (recording.json with the list of files) and
 * `recording://{session_id}/{recording_id}/{file}` (actions.jsonl as text, video.webm as a blob up to
 * RECORDING_RESOURCE_MAX_BYTES). It also hands every finished tool call on a session to the recording.
 */
@Injectable()
export class RecordingResources implements OnModuleInit, OnModuleDestroy {
  private readonly onCall = (e: ToolCallEvent) => {
    if (!e.session) return;
    this.recordings.toolCall(e.session, { tool: e.tool, args: e.args, outcome: e.outcome, startedAt: e.startedAt, durationMs: e.durationMs });
  };

  constructor(
    private readonly recordings: RecordingService,
    private readonly runner: ToolRunner,
  ) {}

  onModuleInit() {
    if (this.recordings.enabled) this.runner.events.on('call', this.onCall);
  }

  onModuleDestroy() {
    this.runner.events.off('call', this.onCall);
  }

  register(ctx: ToolContext) {
    if (!this.recordings.enabled) return;
    const notFound = (uri: URL) => new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource ${uri.href} not found (or not yours).`);
    // Every read of a session's data is reported (the audit trail writes a line for it), however it ends.
    const audited = (read: (uri: URL, vars: Variables) => Promise<ReadResourceResult>) => (uri: URL, vars: Variables) => this.runner.reading(ctx, uri, () => read(uri, vars));
    const ref = (uri: URL, vars: Variables): RecordingRef => {
      const denied = recordingsDenial(ctx.identity, 'Reading recordings');
      if (denied) throw toProtocolError(denied);
      try {
        return { principal: ctx.principal, sessionId: decodeURIComponent(one(vars.session_id)), recordingId: one(vars.recording_id) };
      } catch {
        throw notFound(uri);
      }
    };

    ctx.server.registerResource(
      'recording',
      new ResourceTemplate('recording://{session_id}/{recording_id}', {
        // Without recordings:read the list is empty; a read says which permission is missing.
        list: async () => ({
          resources: (ctx.identity.permissions.has(RECORDINGS_PERMISSION) ? await this.recordings.list(ctx.principal) : []).map(({ meta, bytes }) => ({
            uri: recordingUri(meta.session_id, meta.recording_id),
            name: `recording ${meta.recording_id}`,
            title: `Session ${meta.session_id}, ${meta.started_at}`,
            description: `${meta.status}; ${meta.actions} action(s); video: ${meta.video.state}${meta.video.frames ? `, ${meta.video.duration_s.toFixed(1)} s` : ''}; ${bytes} bytes.`,
            mimeType: 'application/json',
          })),
        }),
      }),
      {
        title: 'Session recording',
        description: 'What happened in one session: recording.json (times, video state) and the resources of its files: actions.jsonl (every tool call and agent step) and the video of the desktop (video.webm).',
        mimeType: 'application/json',
      },
      audited(async (uri, vars): Promise<ReadResourceResult> => {
        const r = ref(uri, vars);
        const entry = await this.recordings.read(r);
        if (!entry) throw notFound(uri);
        const files = entry.files.map((f) => ({ uri: recordingUri(r.sessionId, r.recordingId, f.name), name: f.name, bytes: f.bytes, mime_type: f.mimeType }));
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ ...entry.meta, files }, null, 2) }] };
      }),
    );

    ctx.server.registerResource(
      'recording-file',
      new ResourceTemplate('recording://{session_id}/{recording_id}/{file}', { list: undefined }),
      {
        title: 'Recording file',
        description:
          'One file of a recording: actions.jsonl (one JSON line per tool call or agent step), recording.json, or the video (video.webm, VP9; ' +
          'video-NNN.webm segments while the session runs). Files larger than RECORDING_RESOURCE_MAX_BYTES are refused here: download them from the dashboard.',
      },
      audited(async (uri, vars): Promise<ReadResourceResult> => {
        const file = one(vars.file);
        const f = await this.recordings.readFile(ref(uri, vars), file);
        if (!f) throw notFound(uri);
        if (!f.data) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidRequest,
            `Resource ${uri.href} is ${f.bytes} bytes, more than this server sends through MCP (RECORDING_RESOURCE_MAX_BYTES = ${f.overCap}). Download it from the dashboard instead (the dashboard tool gives a link).`,
          );
        }
        const content = f.mimeType.startsWith('video/')
          ? { uri: uri.href, mimeType: f.mimeType, blob: f.data.toString('base64') }
          : { uri: uri.href, mimeType: f.mimeType, text: f.data.toString('utf8') };
        return { contents: [content] };
      }),
    );
  }
}
