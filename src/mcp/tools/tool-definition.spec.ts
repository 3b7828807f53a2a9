import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { definedOnce } from './tool-definition';

const build = () => ({
  pick: {
    description: 'pick one',
    inputSchema: z.object({ colour: z.enum(['red', 'blue']).describe('which'), times: z.number().int().min(1).optional() }).strict(),
    outputSchema: z.object({ picked: z.string() }),
  },
});

describe('definedOnce', () => {
  it('builds the definitions once: every server gets the same schema objects', () => {
    const made = jest.fn(build);
    const tools = definedOnce(made);
    expect(tools()).toBe(tools());
    expect(tools().pick.inputSchema).toBe(tools().pick.inputSchema);
    expect(made).toHaveBeenCalledTimes(1);
  });

  it('converts each schema to JSON Schema once, to what zod itself gives, and validates as before', async () => {
    const plain = build().pick;
    const tools = definedOnce(build)();
    const first = tools.pick.inputSchema['~standard'].jsonSchema.input({ target: 'draft-2020-12' });
    const again = tools.pick.inputSchema['~standard'].jsonSchema.input({ target: 'draft-2020-12' });
    expect(again).toBe(first);
    expect(first).toEqual(plain.inputSchema['~standard'].jsonSchema.input({ target: 'draft-2020-12' }));
    expect(tools.pick.outputSchema['~standard'].jsonSchema.output({ target: 'draft-2020-12' })).toEqual(plain.outputSchema['~standard'].jsonSchema.output({ target: 'draft-2020-12' }));
    // Another target is its own conversion, not the first one's.
    expect(tools.pick.inputSchema['~standard'].jsonSchema.input({ target: 'draft-07' })).not.toBe(first);
    // Validation is zod's, untouched.
    expect(await tools.pick.inputSchema['~standard'].validate({ colour: 'red' })).toEqual({ value: { colour: 'red' } });
    expect(await tools.pick.inputSchema['~standard'].validate({ colour: 'green' })).toMatchObject({ issues: [expect.objectContaining({ path: ['colour'] })] });
  });

  it('two servers list the same schemas for a tool defined once, as one built per server would', async () => {
    const tools = definedOnce(build);
    const listed = async (def: ReturnType<typeof build>['pick']) => {
      const server = new McpServer({ name: 't', version: '1' });
      server.registerTool('pick', def, () => ({ content: [], structuredContent: { picked: 'red' } }));
      const handlers = (server.server as unknown as { _requestHandlers: Map<string, (r: unknown, c: unknown) => Promise<{ tools: unknown[] }>> })._requestHandlers;
      return (await handlers.get('tools/list')!({ method: 'tools/list', params: {} }, {})).tools;
    };
    const once = await listed(tools().pick);
    expect(await listed(tools().pick)).toEqual(once);
    expect(once).toEqual(await listed(build().pick));
  });
});
