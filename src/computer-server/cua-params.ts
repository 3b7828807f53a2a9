import { CuaCommandSpec, CuaParams, CuaParamSpec } from '../common/cua-protocol';
import { DomainError, DomainErrorCode } from '../common/domain-error';

const invalid = (msg: string) => new DomainError(DomainErrorCode.INVALID_ARGUMENT, msg);

function check(command: string, spec: CuaParamSpec, v: unknown): unknown {
  const bad = (what: string) => invalid(`${command}: ${spec.name} must be ${what} (${spec.description}), not ${JSON.stringify(v)?.slice(0, 80)}.`);
  switch (spec.type) {
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a number');
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('a whole number');
      return v;
    case 'string':
      if (typeof v !== 'string') throw bad('a string');
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'button':
      if (v !== 'left' && v !== 'right' && v !== 'middle') throw bad('"left", "right" or "middle"');
      return v;
    case 'direction':
      if (v !== 'up' && v !== 'down' && v !== 'left' && v !== 'right') throw bad('"up", "down", "left" or "right"');
      return v;
    case 'image_format': {
      const f = typeof v === 'string' ? v.toLowerCase() : v;
      if (f === 'jpg') return 'jpeg';
      if (f !== 'png' && f !== 'jpeg') throw bad('"png" or "jpeg"');
      return f;
    }
    case 'point_list':
      if (!Array.isArray(v) || !v.every((p) => Array.isArray(p) && p.length === 2 && p.every((n) => typeof n === 'number' && Number.isFinite(n)))) {
        throw bad('a list of [x, y] points');
      }
      return v;
    case 'string_list':
      if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string')) throw bad('a non-empty list of strings');
      return v;
  }
}

/**
 * Checks a request's params against the command's table entry: unknown keys are dropped (as
 * the protocol says), `null` counts as absent, defaults are filled in, and a wrong or missing
 * value is an INVALID_ARGUMENT that names the parameter.
 */
export function validateParams(spec: CuaCommandSpec, params: CuaParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of spec.params) {
    const v = Object.hasOwn(params, p.name) ? params[p.name] : undefined;
    if (v === undefined || v === null) {
      if (p.required) throw invalid(`${spec.name} needs ${p.name}: ${p.description}.`);
      if (p.default !== undefined && p.default !== null) out[p.name] = p.default;
      continue;
    }
    out[p.name] = check(spec.name, p, v);
  }
  return out;
}
