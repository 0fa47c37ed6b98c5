/**
 * The policy's `alerts`: tell someone when a key's spend today crosses a fraction of its daily cap,
 * at the call that crosses it (not in tomorrow's bill). Also settable server-wide for every key
 * whose policy has none (`keyleash serve --alert-thresholds --alert-webhook-url`).
 */
import { z } from 'zod';

export const AlertSettingsSchema = z
  .object({
    /** fractions of the daily cap, e.g. [0.5, 0.8, 1] */
    thresholds: z
      .array(z.number().gt(0, 'a threshold is a fraction of the daily cap above 0').max(1, 'a threshold is a fraction of the daily cap, at most 1'))
      .min(1)
      .max(10)
      .refine((list) => new Set(list).size === list.length, 'thresholds must be distinct'),
    /** where alerts are POSTed (signed, see README "Alerts"); null = recorded and listed only */
    webhook_url: z
      .url({ protocol: /^https?$/, message: 'webhook_url is an http(s) URL' })
      .max(2000)
      .nullable()
      .default(null),
  })
  .strict();
export type AlertSettingsJson = z.input<typeof AlertSettingsSchema>;

export interface AlertSettings {
  thresholds: number[];
  webhookUrl: string | null;
}

export function alertSettingsFromJson(json: z.output<typeof AlertSettingsSchema>): AlertSettings {
  return { thresholds: [...json.thresholds].sort((a, b) => a - b), webhookUrl: json.webhook_url };
}

export function alertSettingsToJson(settings: AlertSettings): { thresholds: number[]; webhook_url: string | null } {
  return { thresholds: settings.thresholds, webhook_url: settings.webhookUrl };
}

/** The spend (micro-USD) at which a threshold of a cap is crossed: reached or passed. */
export function thresholdMicros(capMicros: number, threshold: number): number {
  return Math.ceil(capMicros * threshold);
}
