import { AlertSettingsSchema, alertSettingsFromJson, describeIssues, type AlertSettings } from '@keyleash/core';

export interface AlertConfig {
  /** for every key with a daily cap whose policy has no `alerts` */
  defaults?: AlertSettings;
  /** signs every webhook delivery (alerts and approvals); never logged */
  webhookSecret?: string;
  /** the first retry's delay (doubling after) */
  retryBaseMs?: number;
}

export interface AlertFlags {
  alertThresholds?: string;
  alertWebhookUrl?: string;
}

/** `--alert-thresholds 0.5,0.8,1 --alert-webhook-url https://…` (env KEYLEASH_ALERT_THRESHOLDS, KEYLEASH_ALERT_WEBHOOK_URL). */
export function resolveAlertConfig(flags: AlertFlags, env: Readonly<Record<string, string | undefined>>): AlertConfig {
  const thresholds = flags.alertThresholds ?? env.KEYLEASH_ALERT_THRESHOLDS;
  const webhookUrl = flags.alertWebhookUrl ?? env.KEYLEASH_ALERT_WEBHOOK_URL;
  const config: AlertConfig = {};
  if (thresholds !== undefined || webhookUrl !== undefined) {
    if (thresholds === undefined) throw new Error('--alert-webhook-url needs --alert-thresholds (e.g. 0.5,0.8,1)');
    const parsed = AlertSettingsSchema.safeParse({ thresholds: thresholds.split(',').map(Number), webhook_url: webhookUrl ?? null });
    if (!parsed.success) throw new Error(`--alert-thresholds / --alert-webhook-url: ${describeIssues(parsed.error).join('; ')}`);
    config.defaults = alertSettingsFromJson(parsed.data);
  }
  if (env.KEYLEASH_WEBHOOK_SECRET) config.webhookSecret = env.KEYLEASH_WEBHOOK_SECRET;
  if (env.KEYLEASH_ALERT_RETRY_BASE_MS) config.retryBaseMs = Number(env.KEYLEASH_ALERT_RETRY_BASE_MS);
  return config;
}
