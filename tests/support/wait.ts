/** The one polling helper: tests wait for a state of the real services, never for a fixed time. */
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';

export interface WaitOptions {
  /** how long to wait before giving up (default 120 s: an upper bound on a loaded machine, not a timing claim) */
  timeoutMs?: number;
  /** pause between checks (default 100 ms) */
  everyMs?: number;
  /** what to add to the timeout message (the state that was not reached), read only on timeout */
  explain?: () => string | Promise<string>;
  /** asked before each check: a reason to stop waiting at once (a process that exited), or undefined */
  giveUp?: () => string | undefined;
}

/**
 * Calls `check` until it returns something other than `undefined` or `false`, and returns that. A check that throws
 * counts as not yet (the service may still be starting); its last error goes into the timeout message, which says
 * what was waited for: `timed out after 120000 ms waiting for <what>: <last error>`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: WaitOptions | number = {},
): Promise<T> {
  const { timeoutMs = 120_000, everyMs = 100, explain, giveUp } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = giveUp?.();
    if (reason !== undefined) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = [last === undefined ? '' : String(last), explain ? await explain() : ''].filter(Boolean).join('; ');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why ? `: ${why}` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** Whether `url` answers 200 now (a health or readiness probe); false while nothing listens. */
export async function answersOk(url: string, dispatcher?: Dispatcher): Promise<boolean> {
  try {
    const res = await request(url, dispatcher ? { dispatcher } : {});
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}
