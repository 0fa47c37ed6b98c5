import { describe, expect, it } from 'vitest';
import { TWILIO_PLACEHOLDER_ACCOUNT_SID } from '../../packages/core/src/index.ts';
import { runTool, sendSms, sendSmsFrom } from '../../packages/client/src/index.ts';
import {
  auditOf,
  basic,
  client,
  form,
  FROM,
  GB,
  issueTwilioKey,
  PRICE,
  raw,
  restException,
  spendMicros,
  UNKNOWN_COUNTRY,
  US,
  useTwilioStack,
} from './harness.ts';
import { PRISM_EXAMPLE_ACCOUNT_SID } from '../upstreams/twilio/recorder.ts';

const stack = useTwilioStack();

const queuedMms = {
  account_sid: PRISM_EXAMPLE_ACCOUNT_SID,
  api_version: '2010-04-01',
  body: 'look',
  direction: 'outbound-api',
  num_media: '2',
  num_segments: '1',
  price: null,
  price_unit: null,
  sid: `MM${'b'.repeat(32)}`,
  status: 'queued',
  uri: `/2010-04-01/Accounts/${PRISM_EXAMPLE_ACCOUNT_SID}/Messages/MM${'b'.repeat(32)}.json`,
};

const messagesPath = (sid = TWILIO_PLACEHOLDER_ACCOUNT_SID) => `/twilio/api.twilio.com/2010-04-01/Accounts/${sid}/Messages.json`;

describe('sending messages through keyleash with the official twilio package', () => {
  it('sends an SMS with the real credentials and account SID, never the vault key, and audits it at its price', async () => {
    const key = await issueTwilioKey(stack, { metadata: { role: 'notifier' } });
    const message = await client(stack, key.vault_key).messages.create({ to: US, from: FROM, body: 'Your order shipped' });

    expect(message.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(message.status).toBe('queued');
    const [sent] = stack.recorder.requests;
    expect(stack.recorder.requests).toHaveLength(1);
    expect(stack.recorder.violations).toEqual([]);
    expect(sent!.host).toBe('api.twilio.com');
    expect(sent!.path).toBe(`/2010-04-01/Accounts/${stack.accountSid}/Messages.json`);
    expect(sent!.username).toBe(stack.accountSid);
    expect(new URLSearchParams(sent!.body).get('Body')).toBe('Your order shipped');

    const rows = await auditOf(stack, key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      vendor: 'twilio',
      method: 'POST',
      path: `/api.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`,
      status: 201,
      decision: 'allowed',
      reserved_micros: PRICE.smsUS,
      settled_micros: PRICE.smsUS,
      metadata: { role: 'notifier' },
    });
    expect(rows[0].upstream_request_id).toMatch(/^RQ/);
    expect(await spendMicros(stack, key.id)).toBe(PRICE.smsUS);
  });

  it('answers with the placeholder account SID wherever Twilio names the real one', async () => {
    const key = await issueTwilioKey(stack);
    const twilio = client(stack, key.vault_key);
    const message = await twilio.messages.create({ to: US, from: FROM, body: 'hi' });
    expect(message.accountSid).toBe(TWILIO_PLACEHOLDER_ACCOUNT_SID);
    expect(message.uri).toBe(`/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages/${message.sid}.json`);
    expect(JSON.stringify(message.toJSON())).not.toContain(stack.accountSid);

    // a page of the 2010 API: its relative next_page_uri names the placeholder, and following it works
    const page = await twilio.messages.page({ pageSize: 2 });
    expect(page.nextPageUrl).toContain(`/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`);
    expect(JSON.stringify(page.instances.map((m) => m.toJSON()))).not.toContain(stack.accountSid);
    await page.nextPage();
    const followed = stack.recorder.requests.at(-1)!;
    expect(followed.path).toBe(`/2010-04-01/Accounts/${stack.accountSid}/Messages.json`);
    expect(new URLSearchParams(followed.query).get('PageToken')).toBeTruthy();
    expect(stack.recorder.violations).toEqual([]);
  });

  it('accepts the real account SID in a path, and still answers with the placeholder', async () => {
    const key = await issueTwilioKey(stack);
    const answer = await raw(stack.keyleash.url, {
      method: 'POST',
      path: messagesPath(stack.accountSid),
      headers: { authorization: basic(key.vault_key) },
      body: form([['To', US], ['From', FROM], ['Body', 'hi']]),
    });
    expect(answer.status).toBe(201);
    expect(answer.json.account_sid).toBe(TWILIO_PLACEHOLDER_ACCOUNT_SID);
    expect(answer.text).not.toContain(stack.accountSid);
    expect(stack.recorder.requests[0]!.path).toBe(`/2010-04-01/Accounts/${stack.accountSid}/Messages.json`);
  });

  it('never shows an agent the account auth token, even when its key may read the Account', async () => {
    const key = await issueTwilioKey(stack);
    const account = await client(stack, key.vault_key).api.v2010.accounts(TWILIO_PLACEHOLDER_ACCOUNT_SID).fetch();
    expect(account.sid).toBe(TWILIO_PLACEHOLDER_ACCOUNT_SID);
    expect(account.authToken).toBe('[redacted by keyleash]');
    expect(JSON.stringify(account.toJSON())).not.toContain(stack.secret);
  });
});

describe('every Twilio host', () => {
  it('routes the hosts twilio-node derives from region and edge, under the product’s one allowlist pattern', async () => {
    const key = await issueTwilioKey(stack, { allowed_endpoints: ['POST /api.twilio.com/2010-04-01/Accounts/*/Messages.json'] });
    await client(stack, key.vault_key, { twilio: { region: 'au1' } }).messages.create({ to: US, from: FROM, body: 'from a region' });
    await client(stack, key.vault_key, { twilio: { edge: 'sydney' } }).messages.create({ to: US, from: FROM, body: 'from an edge' });
    expect(stack.recorder.requests.map((request) => request.host)).toEqual(['api.au1.twilio.com', 'api.sydney.us1.twilio.com']);
    expect(stack.recorder.requests.every((request) => request.path === `/2010-04-01/Accounts/${stack.accountSid}/Messages.json`)).toBe(true);
    expect((await auditOf(stack, key.id)).map((row) => [row.path, row.reserved_micros])).toEqual([
      [`/api.au1.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`, PRICE.smsUS],
      [`/api.sydney.us1.twilio.com/2010-04-01/Accounts/${TWILIO_PLACEHOLDER_ACCOUNT_SID}/Messages.json`, PRICE.smsUS],
    ]);
    expect(stack.recorder.violations).toEqual([]);
  });
});

describe('pricing a message before it is sent', () => {
  it('counts segments (GSM-7 160/153, UCS-2 70/67) times the destination country’s price, and MMS per message', async () => {
    const key = await issueTwilioKey(stack);
    const twilio = client(stack, key.vault_key);
    const cases: { params: Parameters<typeof twilio.messages.create>[0]; micros: number }[] = [
      { params: { to: US, from: FROM, body: 'a'.repeat(160) }, micros: PRICE.smsUS }, // GSM-7, 1 segment
      { params: { to: US, from: FROM, body: 'a'.repeat(161) }, micros: 2 * PRICE.smsUS }, // GSM-7, 2 x 153
      { params: { to: US, from: FROM, body: `${'a'.repeat(158)}€` }, micros: PRICE.smsUS }, // € is two septets: 160, one segment
      { params: { to: US, from: FROM, body: `${'a'.repeat(159)}€` }, micros: 2 * PRICE.smsUS }, // 161 septets
      { params: { to: US, from: FROM, body: 'x'.repeat(70) }, micros: PRICE.smsUS }, // GSM-7 all the same
      { params: { to: US, from: FROM, body: `${'x'.repeat(68)}👍` }, micros: PRICE.smsUS }, // UCS-2, 70 units
      { params: { to: US, from: FROM, body: `${'x'.repeat(69)}👍` }, micros: 2 * PRICE.smsUS }, // UCS-2, 71 units
      { params: { to: GB, from: FROM, body: 'Hello from London' }, micros: PRICE.smsGB },
      { params: { to: US, messagingServiceSid: `MG${'1'.repeat(32)}`, body: 'via a messaging service' }, micros: PRICE.smsUS },
      { params: { to: US, from: FROM, body: 'look', mediaUrl: ['https://example.com/a.png', 'https://example.com/b.png'] }, micros: PRICE.mmsUS },
    ];
    for (const { params } of cases) {
      // Prism cannot read a repeated form key as an array (Twilio can), so the MMS is answered by the recorder
      if (params.mediaUrl) stack.recorder.respond({ method: 'POST', pathSuffix: '/Messages.json', status: 201, body: queuedMms });
      await twilio.messages.create(params);
    }

    const rows = await auditOf(stack, key.id);
    expect(rows.map((row) => row.reserved_micros)).toEqual(cases.map((c) => c.micros));
    expect(rows.every((row) => row.status === 201 && row.settled_micros === row.reserved_micros)).toBe(true);
    expect(await spendMicros(stack, key.id)).toBe(cases.reduce((sum, c) => sum + c.micros, 0));
    // a list parameter reaches Twilio repeated, as twilio-node wrote it
    const mms = stack.recorder.requests.at(-1)!;
    expect(new URLSearchParams(mms.body).getAll('MediaUrl')).toEqual(['https://example.com/a.png', 'https://example.com/b.png']);
  });

  it('refuses, before Twilio, a message to a country with no price under a capped key; a policy fallback prices it; an uncapped key sends it', async () => {
    const capped = await issueTwilioKey(stack);
    const refused = await restException(client(stack, capped.vault_key).messages.create({ to: UNKNOWN_COUNTRY, from: FROM, body: 'hi' }));
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('keyleash_unpriced_endpoint');
    expect(refused.message).toMatch(/no country calling code/);
    expect(stack.recorder.requests).toHaveLength(0);

    const withFallback = await issueTwilioKey(stack, { twilio: { fallback_sms_usd_per_segment: 0.1 } });
    await client(stack, withFallback.vault_key).messages.create({ to: UNKNOWN_COUNTRY, from: FROM, body: 'x'.repeat(200) });
    expect((await auditOf(stack, withFallback.id))[0].reserved_micros).toBe(2 * 100_000);

    const uncapped = await issueTwilioKey(stack, { daily_usd_cap: null });
    await client(stack, uncapped.vault_key).messages.create({ to: UNKNOWN_COUNTRY, from: FROM, body: 'hi' });
    expect((await auditOf(stack, uncapped.id))[0]).toMatchObject({ status: 201, reserved_micros: 0 });
    expect(stack.recorder.requests).toHaveLength(2);
  });

  it('refuses an ambiguous message: To, Body or From given twice, a To that is not E.164, parameters in the query string', async () => {
    const key = await issueTwilioKey(stack);
    const auth = { authorization: basic(key.vault_key) };
    const bodies = [
      form([['To', US], ['To', GB], ['From', FROM], ['Body', 'hi']]),
      form([['To', US], ['From', FROM], ['Body', 'hi'], ['Body', 'a much longer second body that Twilio might read instead']]),
      form([['To', US], ['From', FROM], ['From', '+14155550198'], ['Body', 'hi']]),
      form([['To', '4155550100'], ['From', FROM], ['Body', 'hi']]),
    ];
    for (const body of bodies) {
      const answer = await raw(stack.keyleash.url, { method: 'POST', path: messagesPath(), headers: auth, body });
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ code: 'keyleash_ambiguous_request', status: 400 });
    }
    const inQuery = await raw(stack.keyleash.url, { method: 'POST', path: `${messagesPath()}?Body=${'x'.repeat(500)}`, headers: auth, body: form([['To', US], ['From', FROM], ['Body', 'hi']]) });
    expect(inQuery.json.code).toBe('keyleash_ambiguous_request');
    const viaSdk = await restException(client(stack, key.vault_key).messages.create({ to: '4155550100', from: FROM, body: 'hi' }));
    expect(viaSdk.code).toBe('keyleash_ambiguous_request');
    expect(viaSdk.message).toMatch(/E\.164/);
    expect(stack.recorder.requests).toHaveLength(0);
    expect((await auditOf(stack, key.id)).every((row) => row.decision === 'refused' && row.reserved_micros === 0)).toBe(true);
  });
});

describe('settlement', () => {
  it('keeps the estimate when Twilio answers price null, and counts the real price once a status fetch reveals it', async () => {
    const key = await issueTwilioKey(stack);
    const twilio = client(stack, key.vault_key);
    const message = await twilio.messages.create({ to: US, from: FROM, body: 'hi' });
    expect(message.price).toBeNull();
    expect(await spendMicros(stack, key.id)).toBe(PRICE.smsUS);

    // Prism's example of a sent message costs $0.0075
    const fetched = await twilio.messages(message.sid).fetch();
    expect(fetched.price).toBe('-0.00750');
    expect(await spendMicros(stack, key.id)).toBe(7_500);
    await twilio.messages(message.sid).fetch();
    expect(await spendMicros(stack, key.id)).toBe(7_500);

    const rows = await auditOf(stack, key.id);
    // the fetch itself is free; the correction is its own row: what was counted, what is counted now
    expect(rows.map((row) => [row.method, row.reason, row.reserved_micros, row.settled_micros])).toEqual([
      ['POST', null, PRICE.smsUS, PRICE.smsUS],
      ['GET', null, 0, 0],
      ['GET', 'price_revealed', PRICE.smsUS, 7_500],
      ['GET', null, 0, 0],
    ]);
  });

  it('does not let a fetch correct a message another key tree paid for', async () => {
    const sender = await issueTwilioKey(stack);
    const reader = await issueTwilioKey(stack);
    const message = await client(stack, sender.vault_key).messages.create({ to: US, from: FROM, body: 'hi' });
    await client(stack, reader.vault_key).messages(message.sid).fetch();
    expect(await spendMicros(stack, sender.id)).toBe(PRICE.smsUS);
    expect(await spendMicros(stack, reader.id)).toBe(0);
  });

  it('counts an identical request repeated with the same I-Twilio-Idempotency-Token once, and a different one under that token again', async () => {
    const key = await issueTwilioKey(stack);
    const send = (body: string) =>
      raw(stack.keyleash.url, {
        method: 'POST',
        path: messagesPath(),
        headers: { authorization: basic(key.vault_key), 'i-twilio-idempotency-token': 'tok-1' },
        body: form([['To', US], ['From', FROM], ['Body', body]]),
      });
    expect((await send('hi')).status).toBe(201);
    expect((await send('hi')).status).toBe(201);
    expect(await spendMicros(stack, key.id)).toBe(PRICE.smsUS);
    await send('a different message under the same token');
    expect(await spendMicros(stack, key.id)).toBe(2 * PRICE.smsUS);

    const rows = await auditOf(stack, key.id);
    expect(rows.map((row) => [row.reason, row.reserved_micros])).toEqual([
      [null, PRICE.smsUS],
      ['idempotent_replay', 0],
      [null, PRICE.smsUS],
    ]);
    expect(rows[0].idempotency_key).toMatch(/^tok-1#/);
    expect(stack.recorder.requests.every((request) => request.headers['i-twilio-idempotency-token'] === 'tok-1')).toBe(true);
  });
});

describe('ready-made tool', () => {
  it('send_sms sends under the agent’s key and the audit names the agent and the tool call', async () => {
    const key = await issueTwilioKey(stack);
    const credentials = { role: 'notifier', vaultKey: key.vault_key, proxyUrl: stack.keyleash.url, runId: 'run-7' };
    const outcome = await runTool(sendSms, credentials, { to: US, from: FROM, body: 'Your code is 1234' }, { toolCallId: 'call_1' });
    expect(outcome).toMatchObject({ ok: true, output: { status: 'queued', segments: '1' } });
    const fixed = await runTool(sendSmsFrom({ from: FROM }), credentials, { to: GB, body: 'hello' });
    expect(fixed.ok).toBe(true);

    const rows = await auditOf(stack, key.id);
    expect(rows[0].attribution).toEqual({ agent: 'notifier', run_id: 'run-7', tool: 'send_sms', tool_call_id: 'call_1' });
    expect(rows.map((row) => row.reserved_micros)).toEqual([PRICE.smsUS, PRICE.smsGB]);
    expect(stack.recorder.violations).toEqual([]);
  });

  it('send_sms turns a keyleash refusal into a result the model can read', async () => {
    const key = await issueTwilioKey(stack, { daily_usd_cap: 0.001 });
    const outcome = await runTool(sendSms, { role: 'notifier', vaultKey: key.vault_key, proxyUrl: stack.keyleash.url }, { to: US, from: FROM, body: 'hi' });
    expect(outcome).toMatchObject({ ok: false, refusal: { code: 'keyleash_daily_cap_reached', status: 403 } });
  });
});
