/**
 * One reconcile per object at a time within a process: events for the same object arrive together (an add and the
 * status update of what it depends on), and running them one after the other makes the second one a cheap no-op
 * instead of a duplicate push. Across processes the input checks keep results correct.
 *
 * Requests that arrive while one is already waiting join it, as in a controller's work queue: the waiting reconcile
 * has not read anything yet, so it sees everything the joiners' events announced (a burst of N events for one
 * object costs at most two reconciles, not N). A joiner gets the waiting run's thoroughness, not its own: a resync
 * tick that joins an event's reconcile of a Component leaves a due version check to the next tick.
 */

/** The last reconcile scheduled for an object, and whether it has started reading yet. */
interface Lane {
  run: Promise<unknown>;
  started: boolean;
}

/** per stage instance (its deps object): another instance is another process as far as ordering goes */
const lanesByOwner = new WeakMap<object, Map<string, Lane>>();

/** Runs `fn` in the lane of `key` among the lanes of `owner`, after (or joined with) what is queued there. */
export async function inLane<R>(owner: object, key: string, fn: () => Promise<R>): Promise<R> {
  let lanes = lanesByOwner.get(owner);
  if (!lanes) lanesByOwner.set(owner, (lanes = new Map()));
  const tail = lanes.get(key);
  if (tail && !tail.started) return tail.run as Promise<R>;
  const lane: Lane = { run: Promise.resolve(), started: false };
  const run = (tail?.run ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => {
      lane.started = true;
      return fn();
    });
  lane.run = run;
  lanes.set(key, lane);
  try {
    return await run;
  } finally {
    if (lanes.get(key) === lane) lanes.delete(key);
  }
}
