// Cost profiles: the cycle price of every event in cost/event.ts, each with its source.
// A profile is checked completely before use; anything wrong is one line naming the file,
// the event and the problem (DESIGN.md invariant 6).

import { PRICED_EVENTS } from "./event.js";

export const PROFILE_SCHEMA = "vmxlab.profile/2";

export interface PricedEvent {
  readonly cycles: number;
  /** Where the number comes from: a manual's table, a paper, or a measurement and its command. */
  readonly source: string;
}

export interface Profile {
  readonly name: string;
  /** The processor whose prices these are. */
  readonly cpu: string;
  /** What one cycle count means under this profile. */
  readonly model: string;
  /** Core clock in MHz: timers (8254, APIC) turn cycles into time with it. */
  readonly clockMHz: number;
  /**
   * The local APIC timer's input clock, hz / divisor Hz (a fraction, so that converting
   * between its ticks and core cycles is exact): the bus clock on Core 2, the core crystal
   * clock (CPUID.15H:ECX) on later cores (SDM 3A 11.5.4).
   */
  readonly apicTimerClock: { readonly hz: number; readonly divisor: number; readonly source: string };
  readonly events: Readonly<Record<string, PricedEvent>>;
}

/** A profile that cannot be used; the message is one line. */
export class ProfileError extends Error {}

/** Checks a parsed JSON value against the profile schema; `origin` names it in errors. */
export function checkProfile(value: unknown, origin: string): Profile {
  const fail = (why: string): never => { throw new ProfileError(`${origin}: ${why}`); };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("a profile is a JSON object");
  const v = value as Record<string, unknown>;
  if (v.schema !== PROFILE_SCHEMA) fail(`"schema" must be "${PROFILE_SCHEMA}"`);
  for (const key of ["name", "cpu", "model"]) {
    if (typeof v[key] !== "string" || (v[key] as string).trim() === "") fail(`"${key}" must be a non-empty string`);
  }
  if (typeof v.clockMHz !== "number" || !Number.isInteger(v.clockMHz) || v.clockMHz <= 0 || v.clockMHz > 100000) {
    fail(`"clockMHz" must be a positive integer (the core clock in MHz)`);
  }
  const t = v.apicTimerClock as Record<string, unknown> | undefined;
  if (typeof t !== "object" || t === null || Array.isArray(t)) fail(`"apicTimerClock" must be an object with "hz", "divisor" and "source"`);
  for (const key of ["hz", "divisor"]) {
    const n = t![key];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) fail(`"apicTimerClock.${key}" must be a positive integer`);
  }
  if (typeof t!.source !== "string" || (t!.source as string).trim() === "") fail(`"apicTimerClock" has no source`);
  const events = v.events;
  if (typeof events !== "object" || events === null || Array.isArray(events)) fail(`"events" must be an object`);
  const e = events as Record<string, unknown>;
  for (const name of Object.keys(e)) {
    if (!PRICED_EVENTS.includes(name)) fail(`unknown event "${name}"`);
    const entry = e[name] as Record<string, unknown> | null;
    if (typeof entry !== "object" || entry === null) fail(`event "${name}" must be an object with "cycles" and "source"`);
    const c = entry!.cycles;
    if (typeof c !== "number" || !Number.isInteger(c) || c < 0) fail(`event "${name}": cycles must be a non-negative integer, not ${JSON.stringify(c)}`);
    if (typeof entry!.source !== "string" || entry!.source.trim() === "") fail(`event "${name}" has no source`);
  }
  for (const name of PRICED_EVENTS) if (!(name in e)) fail(`event "${name}" is missing`);
  return value as Profile;
}

/** Parses and checks profile text (a file's contents). */
export function parseProfile(text: string, origin: string): Profile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProfileError(`${origin}: not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  return checkProfile(value, origin);
}

/**
 * Events whose source starts with "UNSOURCED": the profile has no published or measured
 * number for them and prices them at a placeholder, which reports must say.
 */
export function unsourcedEvents(p: Profile): string[] {
  return Object.entries(p.events).filter(([, e]) => /^UNSOURCED\b/.test(e.source)).map(([name]) => name);
}
