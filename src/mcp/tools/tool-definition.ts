/**
 * Tool definitions (title, description, schemas, annotations: everything but the handler) are built once per process
 * and handed to every McpServer: the server is made anew for each HTTP request (McpServerFactory), and building
 * the zod schemas and converting them to JSON Schema for each request was most of a short call's CPU time
 * (BENCHMARKS.md, "Replicas" and "MCP overhead").
 */

/** The definitions `build` returns, built on the first call and the same objects ever after. */
export function definedOnce<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= withSchemasConvertedOnce(build()));
}

interface JsonSchemaConverter {
  input(options: { target: string }): Record<string, unknown>;
  output(options: { target: string }): Record<string, unknown>;
}
/** A Standard Schema that converts itself to JSON Schema (Standard JSON Schema), as a zod 4 schema does. */
type ConvertibleSchema = { '~standard': { jsonSchema?: JsonSchemaConverter } };

/** Every input and output schema in a map of tool definitions, made to convert to JSON Schema once per target. */
function withSchemasConvertedOnce<T>(definitions: T): T {
  for (const def of Object.values(definitions as Record<string, { inputSchema?: unknown; outputSchema?: unknown }>)) {
    for (const schema of [def.inputSchema, def.outputSchema]) if (isConvertible(schema)) convertOnce(schema);
  }
  return definitions;
}

function isConvertible(schema: unknown): schema is ConvertibleSchema {
  return typeof schema === 'object' && schema !== null && typeof (schema as ConvertibleSchema)['~standard']?.jsonSchema?.input === 'function';
}

/**
 * The SDK asks a schema for its JSON Schema (the Standard JSON Schema interface zod implements) on every tools/list
 * and, in the 2026 era, on every tools/call; zod works it out afresh each time. The answer depends only on the
 * schema and the options, so it is kept. The SDK copies what it is given before adding to it, never changing it.
 */
function convertOnce(schema: ConvertibleSchema): void {
  const standard = schema['~standard'];
  const convert = standard.jsonSchema!;
  const kept = new Map<string, Record<string, unknown>>();
  const once = (io: 'input' | 'output') => (options: { target: string }) => {
    const key = `${io} ${JSON.stringify(options)}`;
    let json = kept.get(key);
    if (!json) kept.set(key, (json = convert[io](options)));
    return json;
  };
  // zod keeps `~standard` as the schema's own property once read, and lets it be replaced (its setter).
  (schema as { '~standard': unknown })['~standard'] = { ...standard, jsonSchema: { input: once('input'), output: once('output') } };
}
