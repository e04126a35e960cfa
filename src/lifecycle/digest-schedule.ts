import { Cron } from "croner";

/** When the rot report is sent to each team, as the policy file's `report` says. */
export interface DigestSchedule {
  /** A cron expression of five fields: minute, hour, day of month, month, day of week. */
  every: string;
  /** The IANA time zone the expression is read in; UTC when the file names none. */
  timezone: string;
  /** The channels every team's digest goes to. */
  notify: string[];
  /** Channels for one team's digest, instead of `notify`. */
  teams: Record<string, string[]>;
  /** The period a digest looks back on, in seconds; null: the time since the previous slot. */
  since_seconds: number | null;
}

/**
 * The schedule's cron, or why the expression cannot be one: five fields exactly (a sixth, of
 * seconds, would send a digest every second), read by croner in `timezone`.
 */
export function digestCron(every: string, timezone: string): { cron: Cron } | { error: string } {
  const fields = every.trim().split(/\s+/);
  if (fields.length !== 5) {
    return {
      error: `must be a cron expression of five fields (minute hour day-of-month month day-of-week), such as "0 9 * * MON"; ${JSON.stringify(every)} has ${fields.length}`,
    };
  }
  let cron: Cron;
  try {
    cron = new Cron(every, { timezone, paused: true });
  } catch (error) {
    return { error: `is not a cron expression: ${error instanceof Error ? error.message : String(error)}` };
  }
  // croner checks the zone only when it computes a date: one computed here refuses a bad zone.
  try {
    cron.nextRun(new Date(0));
  } catch {
    return { error: `time zone ${JSON.stringify(timezone)} is not an IANA time zone (such as Europe/Paris)` };
  }
  return { cron };
}

/** Whether `timezone` names an IANA time zone the runtime knows. */
export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The latest slot at or before `at`, and the one before it (epoch ms); undefined when none. */
export function slotsAtOrBefore(
  cron: Cron,
  at: number,
): { slot: number; previous: number | undefined } | undefined {
  const [slot, previous] = cron.previousRuns(2, new Date(at + 1));
  if (!slot) return undefined;
  return { slot: slot.getTime(), previous: previous?.getTime() };
}
