const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "30m", "8h", "24h", "7d" (also "45s") to milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  if (amount <= 0) return undefined;
  return amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

const DAY_MS = 86_400_000;
/** the last day formatted: every request of a day asks for the same one (formatting costs ~0.5 us) */
let lastDay = { from: 0, to: 0, text: '' };

/** The UTC calendar day ("YYYY-MM-DD") a daily cap is counted against. */
export function utcDay(epochMs: number): string {
  if (epochMs >= lastDay.from && epochMs < lastDay.to) return lastDay.text;
  const from = Math.floor(epochMs / DAY_MS) * DAY_MS;
  lastDay = { from, to: from + DAY_MS, text: new Date(from).toISOString().slice(0, 10) };
  return lastDay.text;
}
