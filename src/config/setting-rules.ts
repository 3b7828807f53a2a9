import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateBy } from 'class-validator';

/**
 * The rules a setting's field can carry. Each writes one message that says what is allowed, so
 * an error names the key once with one reason (not one line per failed rule).
 */

const trimmed = Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

function rule(name: string, test: (value: unknown) => boolean, message: string): PropertyDecorator {
  return ValidateBy({ name, validator: { validate: test, defaultMessage: () => message } });
}

/** Left unset, the field keeps its default (or stays undefined). */
export const Optional = () => IsOptional();

/** A whole number in [min, max]. */
export function Int(min: number, max: number): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value)),
    rule('int', (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max, `must be a whole number from ${min} to ${max}`),
  );
}

/** Text, trimmed, not empty; `pattern` (with `what` saying in words what it must be) when given. */
export function Text(pattern?: RegExp, what?: string): PropertyDecorator {
  return applyDecorators(
    trimmed,
    rule('text', (v) => typeof v === 'string' && v.length > 0 && (!pattern || pattern.test(v)), `must be ${what ?? 'a non-empty text'}`),
  );
}

/** Text kept as written (not trimmed), not empty. */
export function RawText(): PropertyDecorator {
  return rule('raw-text', (v) => typeof v === 'string' && v.length > 0, 'must be a non-empty text');
}

/** Text of at least `min` characters (keys, tokens). */
export function Secret(min = 1): PropertyDecorator {
  return applyDecorators(trimmed, rule('secret', (v) => typeof v === 'string' && v.length >= min, `must be at least ${min} character${min === 1 ? '' : 's'}`));
}

/** One of `values`. */
export function OneOf(values: readonly string[]): PropertyDecorator {
  const words = values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}` : values[0];
  return applyDecorators(trimmed, rule('one-of', (v) => typeof v === 'string' && values.includes(v), `must be ${words}`));
}

/** true/false (also 1/0, yes/no, on/off). */
export function Bool(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => {
      if (typeof value !== 'string') return value;
      const v = value.trim().toLowerCase();
      return ['true', '1', 'yes', 'on'].includes(v) ? true : ['false', '0', 'no', 'off'].includes(v) ? false : value;
    }),
    rule('bool', (v) => typeof v === 'boolean', 'must be true or false'),
  );
}

/** An http(s) URL. */
export function HttpUrl(example = 'https://api.example.com'): PropertyDecorator {
  return applyDecorators(
    trimmed,
    rule(
      'http-url',
      (v) => {
        if (typeof v !== 'string') return false;
        try {
          const u = new URL(v);
          return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
        } catch {
          return false;
        }
      },
      `must be an http(s) URL such as ${example}`,
    ),
  );
}

/** A comma-separated list of items each matching `item`, split by `list`. */
export function List(item: RegExp, what: string): PropertyDecorator {
  return applyDecorators(trimmed, rule('list', (v) => typeof v === 'string' && list(v).length > 0 && list(v).every((x) => item.test(x)), `must be a comma-separated list of ${what}`));
}

/** Splits a comma-separated setting into trimmed, non-empty items. */
export function list(v: string | undefined): string[] {
  return (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
}
