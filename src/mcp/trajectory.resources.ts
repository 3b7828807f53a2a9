import { Injectable } from '@nestjs/common';
import { ProtocolError, ProtocolErrorCode, ResourceTemplate, type ReadResourceResult } from '@modelcontextprotocol/server';
import { TrajectoryOwner, TrajectoryStore } from '../agent/agent.module';
import { toProtocolError } from './mcp-errors';
import type { ToolContext } from './tool-context';
import { RECORDINGS_PERMISSION, recordingsDenial } from './tool-permissions';
import { ToolRunner } from './tools/tool-runner';

/** The MCP resource of a stored trajectory (or of one of its files). The session id is percent-encoded. */
export function trajectoryUri(sessionId: string, taskId: string, file?: string): string {
  return `trajectory://${encodeURIComponent(sessionId)}/${taskId}${file ? `/${file}` : ''}`;
}

type Variables = Record<string, string | string[]>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? '';

/**
 * With TRAJECTORY_DIR set: each MCP server instance can list and read the trajectories of its principal's sessions as
 * resources `trajectory://{session_id}/{task_id}` (the steps as JSON) and `trajectory://{session_id}/{task_id}/{file}`
 * (steps.jsonl, task.json, the screenshots), with the permission recordings:read. Ids are validated by the store;
 * anything else is "not found".
 */
@Injectable()
export class TrajectoryResources {
  constructor(
    private readonly store: TrajectoryStore,
    private readonly runner: ToolRunner,
  ) {}

  register(ctx: ToolContext) {
    if (!this.store.enabled) return;
    const notFound = (uri: URL) => new ProtocolError(ProtocolErrorCode.InvalidParams, `Resource ${uri.href} not found (or not yours).`);
    // Every read of a session's data is reported (the audit trail writes a line for it), however it ends.
    const audited = (read: (uri: URL, vars: Variables) => Promise<ReadResourceResult>) => (uri: URL, vars: Variables) => this.runner.reading(ctx, uri, () => read(uri, vars));
    const owner = (uri: URL, vars: Variables): TrajectoryOwner => {
      const denied = recordingsDenial(ctx.identity, 'Reading trajectories');
      if (denied) throw toProtocolError(denied);
      try {
        return { principal: ctx.principal, sessionId: decodeURIComponent(one(vars.session_id)) };
      } catch {
        throw notFound(uri);
      }
    };

    ctx.server.registerResource(
      'trajectory',
      new ResourceTemplate('trajectory://{session_id}/{task_id}', {
        // Without recordings:read the list is empty; a read says which permission is missing.
        list: async () => ({
          resources: (ctx.identity.permissions.has(RECORDINGS_PERMISSION) ? await this.store.list(ctx.principal) : []).map((m) => ({
            uri: trajectoryUri(m.session_id, m.task_id),
            name: `trajectory ${m.task_id}`,
            title: `${m.status}: ${m.task.length > 60 ? `${m.task.slice(0, 57)}...` : m.task}`,
            description: `Session ${m.session_id}, ${m.model}, started ${m.started_at}${m.steps !== undefined ? `, ${m.steps} step(s)` : ''}.`,
            mimeType: 'application/json',
          })),
        }),
      }),
      {
        title: 'Task trajectory',
        description: 'What one run_cua_task did: the task, every step (model output, actions, results, timing, usage) and links to its screenshots.',
        mimeType: 'application/json',
      },
      audited(async (uri, vars): Promise<ReadResourceResult> => {
        const who = owner(uri, vars);
        const taskId = one(vars.task_id);
        const t = await this.store.read(who, taskId);
        if (!t) throw notFound(uri);
        const files = t.files.map((f) => trajectoryUri(who.sessionId, taskId, f));
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ ...t.meta, steps: t.steps, files }, null, 2) }] };
      }),
    );

    ctx.server.registerResource(
      'trajectory-file',
      new ResourceTemplate('trajectory://{session_id}/{task_id}/{file}', { list: undefined }),
      { title: 'Trajectory file', description: 'One file of a trajectory: steps.jsonl, task.json, or an image (step-NNN.png, final.png, step-NNN-action-K.png for a zoom or mid-turn screenshot).' },
      audited(async (uri, vars): Promise<ReadResourceResult> => {
        const f = await this.store.readFile(owner(uri, vars), one(vars.task_id), one(vars.file));
        if (!f) throw notFound(uri);
        const content = f.mimeType.startsWith('image/')
          ? { uri: uri.href, mimeType: f.mimeType, blob: f.data.toString('base64') }
          : { uri: uri.href, mimeType: f.mimeType, text: f.data.toString('utf8') };
        return { contents: [content] };
      }),
    );
  }
}
