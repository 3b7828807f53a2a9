import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  completable,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
  ResourceTemplate,
  type CallToolResult,
  type ClientCapabilities,
  type InputRequests,
  type LoggingLevel,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod';
import { McpServerExtras, type ToolContext } from '../../src/mcp/mcp.module';

/**
 * The fixtures the official MCP conformance suite (@modelcontextprotocol/conformance) calls by name: tools
 * (`test_simple_text` …), prompts, resources and a completion, each as the suite's scenario descriptions ask
 * (`conformance list --server` names them; a scenario's requirements are in its description). test/conformance.e2e-spec.ts
 * puts them into the real app by overriding McpServerExtras, so the suite drives them through the real /mcp endpoint:
 * the gate, the era routing, the 2025-era MCP-session records (their log level included) and the SDK's handlers. The
 * product never has them: nothing but a test's provider override can add them.
 *
 * The 2026 era's multi-round-trip input (`inputRequired`) is offered in that era only; everything else in both. The
 * 2025 era's requests to the client (sampling, elicitation) have no fixtures: see scenarios.json for why.
 */
export class ConformanceFixtures extends McpServerExtras {
  /** Seals the `requestState` of the multi-round tools; the SDK has a tampered one refused (-32602) before a handler runs. */
  private readonly states = createRequestStateCodec<State>({ key: randomBytes(32) });
  override readonly requestState = { verify: (state: string, c: ServerContext) => this.states.verify(state, c) };

  register(ctx: ToolContext): void {
    content(ctx);
    progressAndLogs(ctx);
    prompts(ctx);
    resources(ctx);
    if (ctx.era === 'modern') this.inputRequiredFlows(ctx);
  }

  /** 2026-07-28: multi-round-trip input (SEP-2322) and the stateless scenario's diagnostic tools (SEP-2575). */
  private inputRequiredFlows({ server }: ToolContext): void {
    const named = z.object({ name: z.string() });
    server.registerTool('test_input_required_result_elicitation', { description: 'Asks for a name, then greets it.' }, (c) => {
      const answer = acceptedContent(c.mcpReq.inputResponses, 'user_name', named);
      if (answer) return text(`Hello, ${answer.name}!`);
      // Missing, declined, or not an elicitation result at all (the SDK keeps what is not a bare response out): ask again.
      return inputRequired({ inputRequests: { user_name: askName('What is your name?') } });
    });
    server.registerTool('test_input_required_result_sampling', { description: 'Asks the client\'s model a question.' }, (c) => {
      const reply = c.mcpReq.inputResponses?.capital_question as { content?: { text?: string } } | undefined;
      if (reply) return text(`The model said: ${reply.content?.text ?? '(no text)'}`);
      return inputRequired({ inputRequests: { capital_question: sample('What is the capital of France?', 100) } });
    });
    server.registerTool('test_input_required_result_list_roots', { description: 'Asks for the client\'s roots.' }, (c) => {
      const reply = c.mcpReq.inputResponses?.client_roots as { roots?: { uri: string }[] } | undefined;
      if (reply) return text(`Roots: ${(reply.roots ?? []).map((r) => r.uri).join(', ') || '(none)'}`);
      return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    });
    server.registerTool('test_input_required_result_request_state', { description: 'Asks for a confirmation, keeping sealed state across the rounds.' }, async (c) => {
      const state = verified(c);
      if (state && c.mcpReq.inputResponses?.confirm) return text(`state-ok: round ${state.step} confirmed`);
      return inputRequired({ inputRequests: { confirm: confirm() }, requestState: await this.states.mint({ step: 1 }) });
    });
    server.registerTool('test_input_required_result_tampered_state', { description: 'Like the request-state tool; a tampered requestState is refused.' }, async (c) => {
      const state = verified(c);
      if (state) return text(`state-ok: round ${state.step}`);
      return inputRequired({ inputRequests: { confirm: confirm() }, requestState: await this.states.mint({ step: 1 }) });
    });
    server.registerTool('test_input_required_result_multiple_inputs', { description: 'Asks for a name, a greeting from the model and the roots at once.' }, async (c) => {
      const state = verified(c);
      const responses = c.mcpReq.inputResponses ?? {};
      if (state && ['user_name', 'greeting', 'client_roots'].every((k) => k in responses)) return text('All three answers arrived.');
      return inputRequired({
        inputRequests: { user_name: askName('What is your name?'), greeting: sample('Generate a greeting', 50), client_roots: inputRequired.listRoots() },
        requestState: await this.states.mint({ step: 1 }),
      });
    });
    server.registerTool('test_input_required_result_multi_round', { description: 'Asks for a name, then for a colour, then answers.' }, async (c) => {
      const state = verified(c);
      if (state?.step === 1) {
        const answer = acceptedContent(c.mcpReq.inputResponses, 'step1', named);
        if (answer) {
          return inputRequired({
            inputRequests: { step2: inputRequired.elicit({ message: 'Step 2: What is your favorite color?', requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] } }) },
            requestState: await this.states.mint({ step: 2, name: answer.name }),
          });
        }
      }
      if (state?.step === 2) {
        const colour = acceptedContent<{ color: string }>(c.mcpReq.inputResponses, 'step2');
        if (colour) return text(`${state.name ?? 'Someone'} likes ${colour.color}.`);
      }
      return inputRequired({ inputRequests: { step1: askName('Step 1: What is your name?') }, requestState: await this.states.mint({ step: 1 }) });
    });
    server.registerTool('test_input_required_result_capabilities', { description: 'Asks only for the kinds of input the client declared.' }, (c) => {
      const declared = ((c.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] ?? {}) as ClientCapabilities;
      const wanted: InputRequests = {};
      if (declared.elicitation) wanted.user_name = askName('What is your name?');
      if (declared.sampling) wanted.greeting = sample('Generate a greeting', 50);
      if (declared.roots) wanted.client_roots = inputRequired.listRoots();
      if (Object.keys(wanted).length === 0 || Object.keys(c.mcpReq.inputResponses ?? {}).length > 0) return text('Nothing more to ask.');
      return inputRequired({ inputRequests: wanted });
    });
    server.registerPrompt('test_input_required_result_prompt', { description: 'A prompt that first asks what context to use.' }, (c) => {
      const answer = acceptedContent<{ context: string }>(c.mcpReq.inputResponses, 'user_context');
      if (!answer) {
        return inputRequired({
          inputRequests: { user_context: inputRequired.elicit({ message: 'What context should the prompt use?', requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] } }) },
        });
      }
      return { messages: [{ role: 'user', content: { type: 'text', text: `Use this context: ${answer.context}` } }] };
    });

    // The stateless scenario's diagnostics: input the client did not declare it can give (the SDK refuses it with
    // -32021), input asked on the request's own stream, and logging without a level in the request (none may be sent).
    server.registerTool('test_missing_capability', { description: 'Needs sampling, whether or not the client declared it.' }, () =>
      inputRequired({ inputRequests: { needed: sample('Say something', 10) } }),
    );
    server.registerTool('test_streaming_elicitation', { description: 'Reports progress when asked to, then asks for a name.' }, async (c) => {
      const token = c.mcpReq._meta?.progressToken;
      if (token !== undefined) await c.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: 1 } });
      return inputRequired({ inputRequests: { user_name: askName('What is your name?') } });
    });
    server.registerTool('test_logging_tool', { description: 'Logs at every level, then answers.' }, async (c) => {
      for (const level of ['debug', 'info', 'warning', 'error'] as LoggingLevel[]) await c.mcpReq.log(level, `a ${level} message`);
      return text('Logged.');
    });

    // SEP-2243: a parameter the client must mirror into a header (Mcp-Param-Region), which the SDK checks.
    const region = { type: 'string', 'x-mcp-header': 'Region' };
    server.registerTool(
      'test_header_mirrored_parameter',
      { description: 'Echoes a region that also travels in the Mcp-Param-Region header.', inputSchema: fromJsonSchema<{ region: string }>({ type: 'object', properties: { region }, required: ['region'] }) },
      ({ region }) => text(`Region: ${region}`),
    );
  }

}

/** What the multi-round tools keep in their sealed requestState. */
interface State {
  step: number;
  name?: string;
}

/** The (verified) requestState a retried call echoes; undefined in a first round. */
const verified = (c: ServerContext) => c.mcpReq.requestState<State>();

/** A 2×2 PNG (reddish). */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEklEQVR4nGM4ISd3Qk6OAUIBAB8mBBG4glMAAAAAAElFTkSuQmCC';

/** A tenth of a second of silence as 8 kHz 8-bit mono WAV. */
function wav(): string {
  const samples = 800;
  const b = Buffer.alloc(44 + samples, 0x80);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(8000, 28);
  b.writeUInt16LE(1, 32);
  b.writeUInt16LE(8, 34);
  b.write('data', 36);
  b.writeUInt32LE(samples, 40);
  return b.toString('base64');
}

const text = (t: string): CallToolResult => ({ content: [{ type: 'text', text: t }] });
const askName = (message: string) => inputRequired.elicit({ message, requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } });
const sample = (question: string, maxTokens: number) => inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens });
const confirm = () => inputRequired.elicit({ message: 'Please confirm', requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } });

/** Results of every content type, an isError result, and a JSON Schema 2020-12 input schema kept as written. */
function content({ server }: ToolContext): void {
  server.registerTool('test_simple_text', { description: 'Answers with one text.' }, () => text('A plain text answer from the fixture tool.'));
  server.registerTool('test_image_content', { description: 'Answers with a PNG.' }, () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }));
  server.registerTool('test_audio_content', { description: 'Answers with a WAV.' }, () => ({ content: [{ type: 'audio', data: wav(), mimeType: 'audio/wav' }] }));
  server.registerTool('test_embedded_resource', { description: 'Answers with an embedded resource.' }, () => ({
    content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'The text of an embedded resource.' } }],
  }));
  server.registerTool('test_multiple_content_types', { description: 'Answers with a text, an image and a resource.' }, () => ({
    content: [
      { type: 'text', text: 'Three kinds of content:' },
      { type: 'image', data: PNG, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ kinds: 3 }) } },
    ],
  }));
  server.registerTool('test_error_handling', { description: 'Always fails.' }, () => ({ isError: true, content: [{ type: 'text', text: 'This fixture tool always fails.' }] }));
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Takes a contact whose schema uses JSON Schema 2020-12 keywords.',
      inputSchema: fromJsonSchema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
        properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' }, contactMethod: { type: 'string', enum: ['phone', 'email'] }, phone: { type: 'string' }, email: { type: 'string' } },
        allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
        if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
        then: { required: ['phone'] },
        else: { required: ['email'] },
        additionalProperties: false,
      }),
    },
    () => text('Contact taken.'),
  );
}

/**
 * Progress on the call's own stream, and log messages: through the level the request allows (the 2025 era's
 * logging/setLevel is kept on the MCP session's record by the server, as ToolRunner applies it to the product's tools).
 */
function progressAndLogs(ctx: ToolContext): void {
  const { server } = ctx;
  server.registerTool('test_tool_with_progress', { description: 'Reports 0, 50 and 100 of 100.' }, async (c) => {
    const token = c.mcpReq._meta?.progressToken;
    for (const [i, progress] of [0, 50, 100].entries()) {
      if (i > 0) await sleep(50);
      if (token !== undefined) await c.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress, total: 100 } });
    }
    return text('Done, with progress.');
  });
  const levels: LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
  const log = async (c: ServerContext, level: LoggingLevel, data: string) => {
    if (ctx.logLevel && levels.indexOf(level) < levels.indexOf(ctx.logLevel)) return;
    await c.mcpReq.log(level, data, 'test_tool_with_logging');
  };
  server.registerTool('test_tool_with_logging', { description: 'Logs three info messages, 50 ms apart.' }, async (c) => {
    await log(c, 'info', 'Tool execution started');
    await sleep(50);
    await log(c, 'info', 'Tool processing data');
    await sleep(50);
    await log(c, 'info', 'Tool execution completed');
    return text('Done, with logs.');
  });
}

/** Prompts of every content kind; arg1 of test_prompt_with_arguments completes. */
function prompts({ server }: ToolContext): void {
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments.' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'A simple prompt from the fixtures.' } }],
  }));
  const words = ['paris', 'park', 'party', 'pasta', 'zebra'];
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two arguments.',
      argsSchema: z.object({ arg1: completable(z.string().describe('First test argument'), (value) => words.filter((w) => w.startsWith(value))), arg2: z.string().describe('Second test argument') }),
    },
    ({ arg1, arg2 }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }] }),
  );
  server.registerPrompt('test_prompt_with_embedded_resource', { description: 'A prompt embedding a resource.', argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }) }, ({ resourceUri }) => ({
    messages: [
      { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
    ],
  }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image.' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
}

/** A text and a binary resource, and a template. */
function resources({ server }: ToolContext): void {
  server.registerResource('static-text', 'test://static-text', { mimeType: 'text/plain' }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
  }));
  server.registerResource('static-binary', 'test://static-binary', { mimeType: 'image/png' }, (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }] }));
  server.registerResource('template-data', new ResourceTemplate('test://template/{id}/data', { list: undefined }), { mimeType: 'application/json' }, (uri, { id }) => ({
    contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }) }],
  }));
}
