import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** Parsed JSON as the tests read it: its shape is exactly what each test checks. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** One request the fake vendor server received. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Json;
  at: number;
}

/** A scripted reply: a JSON body (with status and headers), or a handler that answers (or never does). */
export type Reply =
  | { status?: number; headers?: Record<string, string>; body: unknown }
  | ((req: Received, res: ServerResponse) => void | Promise<void>);

/**
 * A local stand-in for a model vendor's HTTP API (127.0.0.1 only), driven by the vendor's own SDK in tests:
 * it records every request (headers and JSON body) and answers with the scripted replies, in order.
 */
export class VendorServer {
  readonly received: Received[] = [];
  private readonly replies: Reply[] = [];
  /** Requests whose connection the client closed before any answer (an aborted call). */
  abortedByClient = 0;
  private readonly server: Server;
  url = '';

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const rec: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : undefined, at: Date.now() };
        this.received.push(rec);
        res.on('close', () => {
          if (!res.writableFinished) this.abortedByClient++;
        });
        const reply = this.replies.shift();
        if (!reply) {
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type: 'test_error', message: 'no scripted reply left' } }));
          return;
        }
        if (typeof reply === 'function') {
          void reply(rec, res);
          return;
        }
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify(reply.body));
      });
    });
  }

  static async start(): Promise<VendorServer> {
    const s = new VendorServer();
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  reply(...replies: Reply[]): this {
    this.replies.push(...replies);
    return this;
  }

  /** Answer every later request with this reply. */
  always(reply: Exclude<Reply, (...a: never[]) => unknown>): this {
    for (let i = 0; i < 200; i++) this.replies.push(reply);
    return this;
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A reply that never comes: the request stays open until the client gives up (then abortedByClient counts it). */
export const hang: Reply = () => undefined;

/** Width and height of a base64 PNG (from its IHDR chunk). */
export function pngSize(base64: string): { width: number; height: number } {
  const b = Buffer.from(base64, 'base64');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

// --- Anthropic Messages API replies ---------------------------------------------------------------------
let n = 0;
const usage = (input = 100, output = 20) => ({ input_tokens: input, output_tokens: output, cache_creation_input_tokens: null, cache_read_input_tokens: null });

export const anthropic = {
  /** Member tool_use blocks of the computer toolset (name = action). */
  toolset(calls: { name: string; input?: Record<string, unknown> }[], text = 'Acting.', tokens?: [number, number]) {
    return {
      body: {
        id: `msg_${++n}`,
        type: 'message',
        role: 'assistant',
        model: 'claude-test',
        content: [{ type: 'text', text }, ...calls.map((c) => ({ type: 'tool_use', id: `toolu_${++n}`, name: c.name, input: c.input ?? {}, toolset_name: 'computer' }))],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: usage(...(tokens ?? [])),
      },
    };
  },
  /** tool_use blocks of the versioned single `computer` tool (input.action). */
  computer(inputs: Record<string, unknown>[], text = 'Acting.') {
    return {
      body: {
        id: `msg_${++n}`,
        type: 'message',
        role: 'assistant',
        model: 'claude-test',
        content: [{ type: 'text', text }, ...inputs.map((input) => ({ type: 'tool_use', id: `toolu_${++n}`, name: 'computer', input }))],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: usage(),
      },
    };
  },
  answer(text: string) {
    return { body: { id: `msg_${++n}`, type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: usage() } };
  },
  error(status: number, type: string, message: string, headers?: Record<string, string>) {
    return { status, headers, body: { type: 'error', error: { type, message } } };
  },
};

// --- OpenAI Responses API replies -----------------------------------------------------------------------
const oaUsage = (input = 100, output = 20) => ({
  input_tokens: input,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: input + output,
});
function response(output: unknown[]) {
  return { id: `resp_${++n}`, object: 'response', created_at: 1, model: 'test', status: 'completed', output, parallel_tool_calls: true, tool_choice: 'auto', tools: [], usage: oaUsage() };
}

export const openai = {
  /** A computer_call with a batch of actions (the GA `computer` tool). */
  actions(actions: Record<string, unknown>[], safety: { id: string; code: string; message: string }[] = []) {
    return { body: response([{ type: 'computer_call', id: `cu_${++n}`, call_id: `call_${++n}`, status: 'completed', pending_safety_checks: safety, actions }]) };
  },
  /** A computer_call with one action (`computer_use_preview`). */
  action(action: Record<string, unknown>) {
    return { body: response([{ type: 'computer_call', id: `cu_${++n}`, call_id: `call_${++n}`, status: 'completed', pending_safety_checks: [], action }]) };
  },
  answer(text: string) {
    return { body: response([{ type: 'message', id: `msg_${++n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }]) };
  },
  error(status: number, message: string, headers?: Record<string, string>) {
    return { status, headers, body: { error: { message, type: 'invalid_request_error', code: null, param: null } } };
  },
};

// --- OpenAI-style chat completions replies --------------------------------------------------------------
function completion(message: Record<string, unknown>, finish: string) {
  return {
    body: {
      id: `chatcmpl_${++n}`,
      object: 'chat.completion',
      created: 1,
      model: 'local',
      choices: [{ index: 0, message: { role: 'assistant', refusal: null, ...message }, finish_reason: finish, logprobs: null }],
      usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
    },
  };
}
export const chat = {
  calls(actions: Record<string, unknown>[], content: string | null = null) {
    return completion({ content, tool_calls: actions.map((a) => ({ id: `call_${++n}`, type: 'function', function: { name: 'computer', arguments: JSON.stringify(a) } })) }, 'tool_calls');
  },
  answer(text: string) {
    return completion({ content: text }, 'stop');
  },
};

// --- Gemini API (generateContent) replies ---------------------------------------------------------------
/** A function call as Gemini writes it: the name of a predefined computer-use function and its arguments (grid coordinates). */
export interface GeminiCall {
  name: string;
  args?: Record<string, unknown>;
  id?: string;
}
function geminiResponse(candidate: Record<string, unknown> | undefined, tokens: [number, number] = [100, 20], extra: Record<string, unknown> = {}) {
  return {
    body: {
      ...(candidate ? { candidates: [{ index: 0, ...candidate }] } : {}),
      usageMetadata: { promptTokenCount: tokens[0], candidatesTokenCount: tokens[1], totalTokenCount: tokens[0] + tokens[1] },
      modelVersion: 'gemini-test',
      responseId: `gem_${++n}`,
      ...extra,
    },
  };
}
export const gemini = {
  /** A model turn with function calls (a `thought` part first when given, then the text, then one part per call, as Gemini orders them). */
  calls(calls: GeminiCall[], text?: string, options: { thought?: string; tokens?: [number, number]; signature?: string } = {}) {
    const parts = [
      ...(options.thought ? [{ text: options.thought, thought: true }] : []),
      ...(text ? [{ text }] : []),
      ...calls.map((c, i) => ({ functionCall: { name: c.name, args: c.args ?? {}, ...(c.id ? { id: c.id } : {}) }, ...(i === 0 && options.signature ? { thoughtSignature: options.signature } : {}) })),
    ];
    return geminiResponse({ content: { role: 'model', parts }, finishReason: 'STOP' }, options.tokens);
  },
  /** A text-only turn: the final answer. */
  answer(text: string) {
    return geminiResponse({ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP' });
  },
  /** A turn that stops for `reason` (SAFETY, MALFORMED_FUNCTION_CALL …) without content. */
  stop(reason: string) {
    return geminiResponse({ finishReason: reason });
  },
  /** No candidate at all: the prompt was blocked. */
  blocked(reason: string) {
    return geminiResponse(undefined, [100, 0], { promptFeedback: { blockReason: reason } });
  },
  /** Google's JSON error body (google.rpc.Status), with a RetryInfo delay when given. */
  error(code: number, status: string, message: string, retryDelay?: string) {
    const details = retryDelay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }] : undefined;
    return { status: code, body: { error: { code, message, status, ...(details ? { details } : {}) } } };
  },
};
