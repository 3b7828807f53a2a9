import 'reflect-metadata';
import { Inject, type Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

export { Bool, HttpUrl, Int, List, OneOf, Optional, RawText, Secret, Text, list } from './setting-rules';

/**
 * Settings, one namespace per feature. A feature declares its environment variables in a class
 * of its own (class-validator rules plus `@Setting(doc)` on each field, the field's initial value
 * is the default), how they become the typed value its code reads (`build`), and any rule that
 * spans keys (`check`). `defineSettings` registers the declaration when the feature's file is
 * imported; `Settings.load` validates every declared namespace at once at boot, so one error
 * names every bad key, and never prints a secret. A feature reads its value with
 * `@InjectSettings(DECLARATION)`.
 */

export interface SettingInfo {
  key: string;
  doc: string;
  secret: boolean;
}

const SETTING_INFO = Symbol('cua:settings');

/** Documents one setting (shown in docs/settings.md and in nothing else). `secret`: its value is never printed. */
export function Setting(doc: string, options: { secret?: boolean } = {}): PropertyDecorator {
  return (target, key) => {
    const own = (Reflect.getOwnMetadata(SETTING_INFO, target) as SettingInfo[] | undefined) ?? [];
    Reflect.defineMetadata(SETTING_INFO, [...own, { key: String(key), doc, secret: options.secret === true }], target);
  };
}

/** A problem with one key. `after`: keys which, when already wrong themselves, make this problem moot. */
export interface SettingsProblem {
  key: string;
  reason: string;
  after?: string[];
}

export interface SettingsContext {
  /** Whether the operator set `key` (not left at its default). */
  given(key: string): boolean;
  /** The validated value of any declared setting, by its name (undefined when no feature declares it). */
  value(key: string): unknown;
  /** The validated variables of another namespace (rules and values that span features). */
  env<E extends object>(declaration: SettingsDeclaration<E, unknown>): E;
  /** The built value of another namespace. */
  of<V>(declaration: SettingsDeclaration<object, V>): V;
}

export interface SettingsDeclaration<E extends object = object, V = unknown> {
  /** Unique among all features, e.g. `pool`, `cua`. */
  readonly namespace: string;
  /** A heading for docs/settings.md, e.g. `Pool of computers`. */
  readonly title: string;
  /** Where the feature is documented, relative to docs/ (optional). */
  readonly docs?: string;
  readonly env: Type<E>;
  // Methods (not function properties), so a declaration of any variables is a SettingsDeclaration<object, V>.
  check?(env: E, ctx: SettingsContext): SettingsProblem[];
  build(env: E, ctx: SettingsContext): V;
  /** The secret strings the settings hold, for redaction; default: the values of the keys marked secret. */
  secrets?(env: E): string[];
  /** The DI token of the built value. */
  readonly token: string;
}

export type SettingsOf<D> = D extends SettingsDeclaration<object, infer V> ? V : never;

const declared = new Map<string, SettingsDeclaration>();

/** Declares (and registers) a feature's settings. Call once, at the top level of the feature's `*.settings.ts`. */
export function defineSettings<E extends object, V>(def: Omit<SettingsDeclaration<E, V>, 'token'>): SettingsDeclaration<E, V> {
  const declaration: SettingsDeclaration<E, V> = { ...def, token: `settings:${def.namespace}` };
  if (declared.has(def.namespace)) throw new Error(`Two settings namespaces are both named "${def.namespace}"`);
  declared.set(def.namespace, declaration);
  return declaration;
}

/** Every declaration whose file has been imported, in import order. */
export function declaredSettings(): SettingsDeclaration[] {
  return [...declared.values()];
}

/** Injects a feature's built settings. */
export const InjectSettings = (declaration: SettingsDeclaration<object, unknown>) => Inject(declaration.token);

/** The documented keys of a declaration, with their defaults. */
export function settingKeys(declaration: SettingsDeclaration): (SettingInfo & { default: unknown })[] {
  const defaults = new declaration.env() as Record<string, unknown>;
  const infos: SettingInfo[] = [];
  for (let proto = declaration.env.prototype as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    infos.unshift(...((Reflect.getOwnMetadata(SETTING_INFO, proto) as SettingInfo[] | undefined) ?? []));
  }
  return infos.map((i) => ({ ...i, default: defaults[i.key] }));
}

export class ConfigValidationError extends Error {
  override readonly name = 'ConfigValidationError';
  constructor(readonly problems: { key: string; value: unknown; reasons: string[] }[]) {
    const shown = (v: unknown) => (v === SECRET ? '=(secret)' : v === undefined ? ' (unset)' : `=${JSON.stringify(v)}`);
    super('Invalid configuration:\n' + problems.map((p) => `  - ${p.key}${shown(p.value)}: ${p.reasons.join('; ')}`).join('\n'));
  }
}

const SECRET = Symbol('secret');

/** A value as an error may show it: a URL with `user:password@` is not shown back (the message is logged). */
function shown(value: string | undefined): string | undefined {
  return value !== undefined && /\/\/[^/,\s]*@/.test(value) ? '(hidden: it holds credentials)' : value;
}

/** Every setting, validated and built. The one instance of a process is provided by ConfigModule. */
export class Settings {
  private readonly values = new Map<string, unknown>();
  private readonly building = new Set<string>();

  private constructor(
    private readonly envs: Map<string, object>,
    private readonly givenKeys: ReadonlySet<string>,
    readonly declarations: SettingsDeclaration[],
  ) {}

  /**
   * Validates `raw` (the environment) against every declared namespace. Throws one
   * ConfigValidationError naming every bad key; secret values are never shown.
   */
  static load(raw: Record<string, string | undefined>, declarations: SettingsDeclaration[] = declaredSettings()): Settings {
    const given = new Set(Object.keys(raw).filter((k) => raw[k] !== undefined && raw[k]?.trim() !== ''));
    const owner = new Map<string, SettingsDeclaration>();
    const secrets = new Set<string>();
    for (const d of declarations) {
      for (const k of settingKeys(d)) {
        const other = owner.get(k.key);
        if (other) throw new Error(`Setting ${k.key} is declared by both "${other.namespace}" and "${d.namespace}"`);
        owner.set(k.key, d);
        if (k.secret) secrets.add(k.key);
      }
    }
    const problems = new Map<string, { key: string; value: unknown; reasons: string[] }>();
    const report = (key: string, reason: string) => {
      const p = problems.get(key) ?? { key, value: raw[key] === undefined ? undefined : secrets.has(key) ? SECRET : shown(raw[key]), reasons: [] };
      p.reasons.push(reason);
      problems.set(key, p);
    };
    const envs = new Map<string, object>();
    for (const d of declarations) {
      const input: Record<string, unknown> = {};
      // A value of only spaces is taken (and refused by most rules): it is a mistake, not a default.
      for (const key of Object.keys(new d.env())) if (raw[key] !== undefined && raw[key] !== '') input[key] = raw[key];
      const env = plainToInstance(d.env, input, { exposeDefaultValues: true });
      for (const e of validateSync(env, { forbidUnknownValues: true })) {
        for (const reason of Object.values(e.constraints ?? { invalid: 'is not valid' })) report(e.property, reason);
      }
      envs.set(d.namespace, env);
    }
    const settings = new Settings(envs, given, declarations);
    const broken = new Set(problems.keys());
    for (const d of declarations) {
      for (const p of d.check?.(envs.get(d.namespace)!, settings.context()) ?? []) {
        if (!broken.has(p.key) && !(p.after ?? []).some((k) => broken.has(k))) report(p.key, p.reason);
      }
    }
    if (problems.size) throw new ConfigValidationError([...problems.values()]);
    for (const d of declarations) settings.get(d);
    return settings;
  }

  /** The built value of a namespace. */
  get<V>(declaration: SettingsDeclaration<object, V>): V {
    const ns = declaration.namespace;
    if (this.values.has(ns)) return this.values.get(ns) as V;
    const env = this.envs.get(ns);
    if (!env) throw new Error(`Settings "${ns}" were declared after the settings were loaded: import its file before Settings.load`);
    if (this.building.has(ns)) throw new Error(`Settings "${ns}" depend on themselves`);
    this.building.add(ns);
    try {
      const value = declaration.build(env, this.context());
      this.values.set(ns, value);
      return value;
    } finally {
      this.building.delete(ns);
    }
  }

  given(key: string): boolean {
    return this.givenKeys.has(key);
  }

  /** Every secret string the settings hold (API keys, tokens), for redaction of anything the server lets out. */
  secretValues(): string[] {
    const all = this.declarations.flatMap((d) => {
      const env = this.envs.get(d.namespace) as Record<string, unknown>;
      if (d.secrets) return d.secrets(env);
      return settingKeys(d).filter((k) => k.secret).map((k) => env[k.key]);
    });
    return [...new Set(all.filter((v): v is string => typeof v === 'string' && v !== ''))];
  }

  private context(): SettingsContext {
    return {
      given: (key) => this.givenKeys.has(key),
      value: (key) => {
        for (const env of this.envs.values()) if (key in env) return (env as Record<string, unknown>)[key];
        return undefined;
      },
      env: <E extends object>(d: SettingsDeclaration<E, unknown>) => {
        const env = this.envs.get(d.namespace);
        if (!env) throw new Error(`Settings "${d.namespace}" are not loaded`);
        return env as E;
      },
      of: <V>(d: SettingsDeclaration<object, V>) => this.get(d),
    };
  }
}
