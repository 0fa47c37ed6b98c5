/**
 * Counting per object, not per request: the two rules every store applies to an object step
 * (see `AdmitRequest.object`), shared so SQLite and PostgreSQL cannot drift apart.
 *
 * A key tree counts, per vendor object, the most the object can move (its ceiling) over the
 * steps that went through the tree. A step that raises the ceiling pays the difference; a step
 * at or below it pays nothing.
 */
import type { MicroUsd } from './money.ts';

/** What an object step adds to the tree's count: the part of its ceiling not counted yet. */
export function objectIncrease(countedMicros: MicroUsd, ceilingMicros: MicroUsd): MicroUsd {
  return Math.max(0, ceilingMicros - countedMicros);
}

/**
 * How much of a released (refused by the vendor) object step's increase is given back: all of it,
 * except what the object's other surviving steps (held, settled or kept) still rely on, i.e. the
 * count never drops below the highest ceiling among them. What is not given back stays counted on
 * the released reservation: its key was checked against its caps for it at admission, which moving
 * it to another step's key would skip.
 */
export function releasedObjectGiveBack(objectMicros: MicroUsd, countedMicros: MicroUsd, survivingCeilingMicros: MicroUsd): MicroUsd {
  return Math.max(0, Math.min(objectMicros, countedMicros - survivingCeilingMicros));
}
