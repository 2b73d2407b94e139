// The profiles vmxlab ships (src/cost/profiles/*.json) and how a name or a path becomes
// a checked profile. The JSON files are read from the source tree, which the package
// ships, so the same path works from src/ (tests) and from dist/ (the CLI).

import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { Profile, ProfileError, parseProfile } from "./profile.js";

const DIRECTORY = fileURLToPath(new URL("../../src/cost/profiles/", import.meta.url));

/** The profile a machine uses unless told otherwise: a current CPU. */
export const DEFAULT_PROFILE_NAME = "goldencove-2021";

const loaded = new Map<string, Profile>();

/** Names of the shipped profiles. */
export function builtinProfileNames(): string[] {
  return readdirSync(DIRECTORY).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
}

/**
 * A shipped profile by name, or a profile file by path (anything containing a slash or
 * ending in .json). Throws ProfileError with one line when it is missing or invalid.
 */
export function loadProfile(nameOrPath: string = DEFAULT_PROFILE_NAME): Profile {
  const cached = loaded.get(nameOrPath);
  if (cached) return cached;
  const isPath = nameOrPath.includes("/") || nameOrPath.endsWith(".json");
  const file = isPath ? nameOrPath : join(DIRECTORY, `${nameOrPath}.json`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (!isPath) throw new ProfileError(`unknown profile "${nameOrPath}" (shipped: ${builtinProfileNames().join(", ")})`);
    throw new ProfileError(`${nameOrPath}: cannot read profile (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const profile = parseProfile(text, nameOrPath);
  if (!isPath) loaded.set(nameOrPath, profile);
  return profile;
}
