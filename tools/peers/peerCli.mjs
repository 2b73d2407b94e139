// The command line every peer runner offers (`node tools/peers/NAME.mjs [options] IMAGE`):
// parse the options, run the guest, print its serial output, and exit with the guest's
// debug-exit value, 124 on timeout, 125 when it never wrote the exit port, 2 for misuse.

/**
 * @param {string[]} argv
 * @param {{ name: string, usage: string, timeoutMs: number,
 *           flags?: Record<string, "value" | "bool">,
 *           run: (image: string, options: Record<string, string | boolean | undefined>, timeoutMs: number) => Promise<any>,
 *           output: (result: any, options: Record<string, string | boolean | undefined>) => Buffer,
 *           noExit: (result: any) => string }} peer
 * @returns {Promise<number>} the exit status
 */
export async function peerCli(argv, peer) {
  const fail = (msg) => { console.error(`${peer.name}: ${msg}\n${peer.usage}`); return 2; };
  const flags = peer.flags ?? {};
  const options = {};
  let timeoutMs = peer.timeoutMs;
  let image = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--timeout" && i + 1 < argv.length) {
      const s = Number(argv[++i]);
      if (!(s > 0)) return fail("--timeout wants a positive number of seconds");
      timeoutMs = s * 1000;
    } else if (flags[a] === "value" && i + 1 < argv.length) options[a] = argv[++i];
    else if (flags[a] === "bool") options[a] = true;
    else if (a === "-h" || a === "--help") {
      console.log(peer.usage);
      return 0;
    } else if (a.startsWith("-") || image !== null) return fail(`unexpected argument ${a}`);
    else image = a;
  }
  if (image === null) {
    console.error(peer.usage);
    return 2;
  }
  let r;
  try {
    r = await peer.run(image, options, timeoutMs);
  } catch (e) {
    console.error(`${peer.name}: ${String(e?.message ?? e).split("\n")[0]}`);
    return 2;
  }
  process.stdout.write(peer.output(r, options));
  if (r.timedOut) {
    console.error(`${peer.name}: timed out after ${timeoutMs / 1000} s`);
    return 124;
  }
  if (r.exitStatus === null) {
    console.error(`${peer.name}: ${peer.noExit(r)}`);
    return 125;
  }
  return r.exitStatus;
}
